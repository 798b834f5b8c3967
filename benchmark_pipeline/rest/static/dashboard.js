/* The dashboard: filters in, four charts out, every one drawn from this server's JSON endpoints, and an LLM-serving
 * panel (a use case's TOPSIS ranking and the Pareto front of tokens/s per GPU against per user).
 * State lives in the URL (?model=&hardware=&metric=&since=&until=&use_case=), so a view can be shared as a link.
 * The time range goes to every endpoint a chart is drawn from, so each chart is the answer a user gets from
 * the same URL (the "To" day is included: the API's until is the midnight after it).
 * window.__dashboard tells a test (or a curious person) how many renders finished and what they drew. */
(function () {
  'use strict';

  var METRICS = {
    throughput: {label: 'Throughput (items/s)', columns: ['throughput_items_per_second'], higher: true},
    latency: {label: 'Latency p50 (ms; mean where no p50)', columns: ['latency_p50_ms', 'average_latency_ms'],
              higher: false},
    memory: {label: 'Peak memory (MB)', columns: ['memory_peak_mb'], higher: false},
    power: {label: 'Power (W)', columns: ['power_watts'], higher: false},
    efficiency: {label: 'Efficiency (items/J)', columns: ['items_per_joule'], higher: true}
  };
  var MAX_TREND_PAGES = 10;   // x 1000 results
  var MAX_SERIES = 24;
  var LLM_ROWS = 15;          // configurations in the LLM ranking table
  var PLOT_CONFIG = {displaylogo: false, responsive: true, modeBarButtonsToRemove: ['lasso2d', 'select2d']};

  var dash = window.__dashboard = {renders: 0, state: null, errors: [], drawn: {}};
  var renderSeq = 0;
  // The use-case taxonomy (GET /llm/use-cases), or why there is none (a warehouse older than the LLM answers).
  var llmCases = {list: [], message: null};

  function $(id) { return document.getElementById(id); }

  function ApiError(status, message) { this.status = status; this.message = message; }

  function query(params) {
    var parts = [];
    Object.keys(params).forEach(function (k) {
      var v = params[k];
      if (v !== null && v !== undefined && v !== '') parts.push(encodeURIComponent(k) + '=' + encodeURIComponent(v));
    });
    return parts.length ? '?' + parts.join('&') : '';
  }

  // A server started with --allow-remote wants a read token for every call: asked for once, kept for the tab.
  var TOKEN_KEY = 'benchmark-db-token';

  function api(path, params) {
    var headers = {Accept: 'application/json'};
    var token = window.sessionStorage.getItem(TOKEN_KEY);
    if (token) headers.Authorization = 'Bearer ' + token;
    return fetch(path + query(params || {}), {headers: headers}).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (body) {
        if (r.status === 401) $('token-field').hidden = false;
        if (!r.ok) throw new ApiError(r.status, body.message || ('HTTP ' + r.status));
        return {body: body, headers: r.headers};
      });
    });
  }

  // All pages of a cursor-paged result listing (bounded).
  function allResults(path, params) {
    var rows = [];
    function next(after, left) {
      var p = Object.assign({}, params, {limit: 1000, after_id: after});
      return api(path, p).then(function (res) {
        rows = rows.concat(res.body.items);
        var cursor = res.body.page.next_after_id;
        return (cursor !== null && left > 1) ? next(cursor, left - 1) : rows;
      });
    }
    return next(null, MAX_TREND_PAGES);
  }

  function readState() {
    var q = new URLSearchParams(window.location.search);
    return {model: q.get('model') || '', hardware: q.get('hardware') || '',
            metric: METRICS[q.get('metric')] ? q.get('metric') : 'throughput',
            since: q.get('since') || '', until: q.get('until') || '', use_case: q.get('use_case') || ''};
  }

  function writeState(state) {
    var url = window.location.pathname + query(state);
    window.history.replaceState(null, '', url);
  }

  // The API's since/until for the form's From/To days (both whole days, UTC).
  function range(state) {
    var until = '';
    if (state.until) {
      var after = new Date(state.until + 'T00:00:00Z');
      if (!isNaN(after.getTime())) {
        after.setUTCDate(after.getUTCDate() + 1);
        until = after.toISOString().slice(0, 10) + 'T00:00:00Z';
      }
    }
    return {since: state.since, until: until};
  }

  function describeRange(state) {
    if (state.since && state.until) return state.since + ' to ' + state.until;
    if (state.since) return 'from ' + state.since;
    if (state.until) return 'up to ' + state.until;
    return 'whole history';
  }

  function formState() {
    return {model: $('model').value, hardware: $('hardware').value, metric: $('metric').value,
            since: $('since').value, until: $('until').value, use_case: $('use-case').value};
  }

  function option(select, value, label) {
    var o = document.createElement('option');
    o.value = value;
    o.textContent = label;
    select.appendChild(o);
  }

  function showError(message) {
    var box = $('error');
    box.textContent = message;
    box.hidden = !message;
  }

  function empty(id, message) {
    var div = $(id);
    if (window.Plotly) Plotly.purge(div);
    div.innerHTML = '';
    var p = document.createElement('div');
    p.className = 'empty';
    p.textContent = message;
    div.appendChild(p);
    dash.drawn[id] = {traces: 0, message: message};
  }

  function draw(id, traces, layout) {
    var div = $(id);
    if (div.querySelector('.empty')) div.innerHTML = '';
    var base = {margin: {l: 60, r: 20, t: 10, b: 60}, legend: {orientation: 'h', y: -0.25}, font: {size: 11}};
    return Plotly.react(div, traces, Object.assign(base, layout), PLOT_CONFIG).then(function () {
      dash.drawn[id] = {traces: traces.length, data: traces.map(function (t) {
        return {name: t.name, x: t.x, y: t.y, z: t.z};
      })};
    });
  }

  // "cuda" matches every cuda column; "NVIDIA T4" matches the column of that device.
  function hardwareMatches(label, wanted) {
    if (!wanted) return true;
    var w = wanted.toLowerCase(), l = String(label).toLowerCase();
    var type = l.split(':')[0].trim(), device = l.indexOf(':') >= 0 ? l.slice(l.indexOf(':') + 1).trim() : '';
    return type === w || device === w || l === w;
  }

  function metricValue(row, metric) {
    var cols = METRICS[metric].columns;
    for (var i = 0; i < cols.length; i++) {
      if (row[cols[i]] !== null && row[cols[i]] !== undefined) return row[cols[i]];
    }
    return null;
  }

  function fmt(v, digits) {
    if (v === null || v === undefined) return '';
    if (typeof v !== 'number') return String(v);
    return Math.abs(v) >= 1000 ? v.toFixed(0) : Number(v.toPrecision(digits || 4)).toString();
  }

  // -- the four panels --------------------------------------------------------------------------------------

  function comparison(state) {
    if (!state.model) { empty('comparison', 'No models in the warehouse yet.'); return Promise.resolve(); }
    var span = range(state);
    $('comparison-note').textContent = '(median ' + state.metric + ' of ' + state.model + ', ' +
      describeRange(state) + ')';
    return api('/compare/hardware', {model: state.model, metric: state.metric, since: span.since, until: span.until})
      .then(function (res) {
        var cols = res.body.columns, rows = res.body.rows;
        var first = cols.indexOf('precision') + 1, last = cols.indexOf('best');
        var x = rows.map(function (r) { return 'batch ' + r[0] + ' · ' + r[1]; });
        var traces = [];
        for (var c = first; c < last; c++) {
          if (!hardwareMatches(cols[c], state.hardware)) continue;
          var y = rows.map(function (r) { return r[c]; });
          if (y.every(function (v) { return v === null; })) continue;
          traces.push({type: 'bar', name: cols[c], x: x, y: y,
                       hovertemplate: '%{x}<br>' + cols[c] + ': %{y:.4g}<extra></extra>'});
        }
        if (!traces.length) return empty('comparison', 'No ' + state.metric + ' results for this model' +
                                          (state.hardware ? ' on ' + state.hardware : '') + ' in this time range.');
        return draw('comparison', traces, {barmode: 'group', yaxis: {title: {text: METRICS[state.metric].label}},
                                           xaxis: {type: 'category'}});
      });
  }

  function heatmap(state) {
    var span = range(state);
    $('heatmap-note').textContent = '(per model and hardware type, ' + describeRange(state) + ')';
    return api('/compatibility/matrix', {level: 'model', per_page: 1000, since: span.since, until: span.until})
      .then(function (res) {
        var cells = res.body.filter(function (c) {
          return !state.hardware || hardwareMatches(c.hardware_type, state.hardware) ||
                 hardwareMatches(c.hardware_type, state.hardware.split(':')[0]);
        });
        if (!cells.length) return empty('heatmap', 'No compatibility results yet.');
        var subjects = [], types = [];
        cells.forEach(function (c) {
          if (subjects.indexOf(c.subject) < 0) subjects.push(c.subject);
          if (types.indexOf(c.hardware_type) < 0) types.push(c.hardware_type);
        });
        subjects.sort(); types.sort();
        var z = subjects.map(function () { return types.map(function () { return null; }); });
        var text = subjects.map(function () { return types.map(function () { return 'no result'; }); });
        cells.forEach(function (c) {
          var i = subjects.indexOf(c.subject), j = types.indexOf(c.hardware_type);
          z[i][j] = c.score;
          text[i][j] = c.status + (c.tests ? ' (' + c.compatible_tests + '/' + c.tests + ' tests)' : '');
        });
        var labels = subjects.map(function (s) { return s === state.model ? '<b>' + s + '</b>' : s; });
        // Cells with no score (untested, or no result) in grey underneath, so a gap reads as "not known".
        var unknown = z.map(function (row) { return row.map(function (v) { return v === null ? 0 : null; }); });
        return draw('heatmap', [{type: 'heatmap', x: types, y: labels, z: unknown, text: text, showscale: false,
                                 colorscale: [[0, '#e3e3e3'], [1, '#e3e3e3']], xgap: 2, ygap: 2,
                                 hovertemplate: '%{y} on %{x}: %{text}<extra></extra>'},
                                {type: 'heatmap', x: types, y: labels, z: z, text: text, zmin: 0, zmax: 1,
                                 colorscale: [[0, '#c0392b'], [0.5, '#f1c40f'], [1, '#27ae60']],
                                 hovertemplate: '%{y} on %{x}: %{text}<extra></extra>', xgap: 2, ygap: 2,
                                 colorbar: {title: {text: 'score'}}}],
                    {margin: {l: 170, r: 20, t: 10, b: 60}, xaxis: {type: 'category'}, yaxis: {type: 'category'}});
      });
  }

  function trend(state) {
    if (!state.model) { empty('trend', 'No models in the warehouse yet.'); return Promise.resolve(); }
    var span = range(state);
    $('trend-note').textContent = '(' + state.metric + ' of ' + state.model + ', ' + describeRange(state) +
                                  '; ▼ regression, ▲ improvement)';
    var filters = {model: state.model, hardware: state.hardware, since: span.since, until: span.until,
                   include_simulated: false};
    var flags = api('/regressions', {model: state.model, hardware: state.hardware, since: span.since, per_page: 1000})
      .then(function (res) { return {flags: res.body, note: null}; })
      .catch(function (err) {
        if (err instanceof ApiError && err.status === 409) return {flags: [], note: err.message};
        throw err;
      });
    return Promise.all([allResults('/performance', filters), flags]).then(function (both) {
      var rows = both[0], found = both[1];
      var series = {}, order = [];
      rows.forEach(function (r) {
        var v = metricValue(r, state.metric);
        if (v === null || !r.run_time) return;
        var key = r.hardware + ' · batch ' + r.batch_size + ' · ' + (r.precision || '?');
        if (!series[key]) { series[key] = {x: [], y: []}; order.push(key); }
        series[key].x.push(r.run_time);
        series[key].y.push(v);
      });
      if (!order.length) return empty('trend', 'No ' + state.metric + ' results for this model in this time range.');
      var traces = order.slice(0, MAX_SERIES).map(function (key) {
        var s = series[key];
        var idx = s.x.map(function (_, i) { return i; }).sort(function (a, b) { return s.x[a] < s.x[b] ? -1 : 1; });
        return {type: 'scatter', mode: 'lines+markers', name: key, marker: {size: 4},
                x: idx.map(function (i) { return s.x[i]; }), y: idx.map(function (i) { return s.y[i]; })};
      });
      var columns = METRICS[state.metric].columns;
      var until = span.until ? new Date(span.until).getTime() : null;  // /regressions has no until
      var marks = found.flags.filter(function (f) {
        return columns.indexOf(f.metric) >= 0 && f.run_time &&
               (until === null || new Date(f.run_time).getTime() < until);
      });
      ['regression', 'improvement'].forEach(function (kind) {
        var these = marks.filter(function (f) { return (f.kind === 'regression') === (kind === 'regression'); });
        if (!these.length) return;
        traces.push({type: 'scatter', mode: 'markers', name: kind === 'regression' ? 'regressions' : 'improvements',
                     x: these.map(function (f) { return f.run_time; }),
                     y: these.map(function (f) { return f.mean_after; }),
                     text: these.map(function (f) {
                       return (f.device_name || f.hardware_type) + ' batch ' + f.batch_size + ': ' + f.kind + ' ' +
                              fmt(f.pct_change, 3) + ' % (' + (f.confirmation || '') + ', ' + (f.status || '') + ')';
                     }),
                     hovertemplate: '%{text}<extra></extra>',
                     marker: {symbol: kind === 'regression' ? 'triangle-down' : 'triangle-up', size: 13,
                              color: kind === 'regression' ? '#c0392b' : '#27ae60', line: {width: 1, color: '#333'}}});
      });
      dash.drawn.flags = {shown: marks.length, note: found.note};
      if (found.note) $('trend-note').textContent += ' — ' + found.note;
      return draw('trend', traces, {xaxis: {type: 'date'}, yaxis: {title: {text: METRICS[state.metric].label}},
                                    showlegend: traces.length <= 12});
    });
  }

  function rankings(state) {
    if (!state.model) { empty('rankings', 'No models in the warehouse yet.'); return Promise.resolve(); }
    var span = range(state);
    $('rankings-note').textContent = '(TOPSIS over the Pareto front, ' + describeRange(state) + ')';
    return api('/rankings', {model: state.model, hardware: state.hardware, since: span.since, until: span.until,
                             per_page: 200}).then(function (res) {
      var rows = res.body;
      var head = $('ranking-table').tHead, body = $('ranking-table').tBodies[0];
      head.innerHTML = '';
      body.innerHTML = '';
      if (!rows.length) return empty('rankings', 'No rankings for this model' +
                                     (state.hardware ? ' on ' + state.hardware : '') + ' in this time range.');
      var groups = {}, order = [];
      rows.forEach(function (r) {
        var g = 'batch ' + r.batch_size + ' · ' + r.precision;
        if (!groups[g]) { groups[g] = []; order.push(g); }
        groups[g].push(r);
      });
      var traces = order.map(function (g) {
        return {type: 'bar', orientation: 'h', name: g, y: groups[g].map(function (r) { return r.hardware; }),
                x: groups[g].map(function (r) { return r.topsis_score; }),
                text: groups[g].map(function (r) { return '#' + r.topsis_rank + (r.pareto_optimal ? ' ★' : ''); }),
                textposition: 'auto', hovertemplate: '%{y}<br>score %{x:.3f} %{text}<extra>' + g + '</extra>'};
      });
      var columns = [['topsis_rank', '#'], ['hardware', 'hardware'], ['batch_size', 'batch'], ['precision', 'precision'],
                     ['topsis_score', 'score'], ['pareto_optimal', 'Pareto'],
                     ['throughput_items_per_second', 'items/s'], ['latency_p99_ms', 'p99 ms'],
                     ['memory_peak_mb', 'MB'], ['power_watts', 'W'], ['cost_per_hour_usd', '$/h']];
      var tr = document.createElement('tr');
      columns.forEach(function (c) { var th = document.createElement('th'); th.textContent = c[1]; tr.appendChild(th); });
      head.appendChild(tr);
      rows.slice(0, 12).forEach(function (r) {
        var row = document.createElement('tr');
        columns.forEach(function (c) {
          var td = document.createElement('td'), v = r[c[0]];
          if (typeof v === 'number') td.className = 'n';
          td.textContent = c[0] === 'pareto_optimal' ? (v ? '★' : '') : fmt(v);
          row.appendChild(td);
        });
        body.appendChild(row);
      });
      return draw('rankings', traces, {barmode: 'group', xaxis: {title: {text: 'TOPSIS score (higher is better)'},
                                                                 range: [0, 1.05]},
                                       yaxis: {type: 'category', automargin: true},
                                       margin: {l: 200, r: 20, t: 10, b: 60}});
    });
  }

  // -- LLM serving ------------------------------------------------------------------------------------------
  // Its own question: the latest result of each configuration at each load, whatever the filters above say
  // (rankings are per use case over every model and GPU; the note says so).

  function llmMessage(text) {
    var box = $('llm-message');
    box.textContent = text || '';
    box.hidden = !text;
    dash.drawn.llm = {message: text || null, rows: []};
  }

  function slaText(sla) {
    var terms = [];
    Object.keys(sla || {}).forEach(function (column) {
      var bound = sla[column];
      if (bound.max !== undefined) terms.push(column + ' ≤ ' + bound.max);
      if (bound.min !== undefined) terms.push(column + ' ≥ ' + bound.min);
    });
    return terms.length ? 'SLA: ' + terms.join(', ') : 'no SLA';
  }

  function gpuLabel(r) {
    if (r.gpu_count !== null && r.gpu_count !== undefined) return r.gpu_count + '× ' + (r.gpu || '?');
    return r.gpu || r.provider || '';
  }

  function loadLabel(r) {
    if (r.concurrency !== null && r.concurrency !== undefined) return String(r.concurrency);
    if (r.request_rate !== null && r.request_rate !== undefined) return fmt(r.request_rate) + ' req/s';
    return 'unbounded';
  }

  var LLM_COLUMNS = [
    ['rank_position', '#'], ['composite_score', 'score'], ['model_name', 'model'], ['quantization', 'quant.'],
    [gpuLabel, 'GPU × count'], [function (r) { return [r.framework, r.framework_version].filter(Boolean).join(' '); },
                                 'framework'],
    [loadLabel, 'concurrency'], ['ttft_ms_p90', 'TTFT p90 ms'], ['user_tokens_per_s', 'tokens/s per user'],
    ['output_tokens_per_s_per_gpu', 'tokens/s per GPU'], ['usd_per_million_output_tokens', '$/1M output tokens']];

  function llmTable(rows) {
    var head = $('llm-table').tHead, body = $('llm-table').tBodies[0];
    var tr = document.createElement('tr');
    LLM_COLUMNS.forEach(function (c) { var th = document.createElement('th'); th.textContent = c[1]; tr.appendChild(th); });
    head.appendChild(tr);
    rows.forEach(function (r) {
      var row = document.createElement('tr');
      row.dataset.resultId = String(r.result_id);
      LLM_COLUMNS.forEach(function (c) {
        var td = document.createElement('td');
        var v = typeof c[0] === 'function' ? c[0](r) : r[c[0]];
        if (typeof v === 'number') {
          td.className = 'n';
          td.dataset.value = String(v);  // the number as answered; the text is rounded for reading
        }
        td.textContent = v === null || v === undefined ? '' : fmt(v);
        row.appendChild(td);
      });
      body.appendChild(row);
    });
  }

  function llmPareto(answer) {
    var points = answer.points;
    var left = answer.left_out ? ' ' + answer.left_out + ' without a GPU count or per-user speed left out.' : '';
    $('llm-pareto-note').textContent = '(every load point, all use cases; filled: on the front.' + left + ')';
    if (!points.length) return empty('llm-pareto', 'No load point has both tokens/s per user and per GPU.');
    function hover(r) {
      return r.model_name + (r.quantization ? ' ' + r.quantization : '') + ' · ' + gpuLabel(r) + ' · ' +
             (r.framework || '') + ' · concurrency ' + loadLabel(r) +
             (r.usd_per_million_output_tokens === null ? '' : '<br>$' + fmt(r.usd_per_million_output_tokens) +
              ' per million output tokens');
    }
    var front = points.filter(function (p) { return p.on_front; });
    var others = points.filter(function (p) { return !p.on_front; });
    var traces = [];
    if (others.length) {
      traces.push({type: 'scatter', mode: 'markers', name: 'dominated', x: others.map(function (p) {
                     return p.user_tokens_per_s; }), y: others.map(function (p) { return p.output_tokens_per_s_per_gpu; }),
                   text: others.map(hover), hovertemplate: '%{text}<br>%{x:.4g} tokens/s per user, %{y:.4g} per GPU' +
                   '<extra></extra>', marker: {size: 9, symbol: 'circle-open', color: '#7f7f7f', line: {width: 1.5}}});
    }
    traces.push({type: 'scatter', mode: 'lines+markers', name: 'Pareto front',
                 x: front.map(function (p) { return p.user_tokens_per_s; }),
                 y: front.map(function (p) { return p.output_tokens_per_s_per_gpu; }),
                 text: front.map(hover), hovertemplate: '%{text}<br>%{x:.4g} tokens/s per user, %{y:.4g} per GPU' +
                 '<extra></extra>', line: {dash: 'dash', width: 1.5, color: '#1f77b4'},
                 marker: {size: 11, color: '#1f77b4', line: {width: 1, color: '#333'}}});
    return draw('llm-pareto', traces, {xaxis: {title: {text: 'output tokens/s per user (higher is better)'}},
                                       yaxis: {title: {text: 'output tokens/s per GPU (higher is better)'},
                                               type: 'log', dtick: 'D2'}});
  }

  function llm(state) {
    var head = $('llm-table').tHead, body = $('llm-table').tBodies[0];
    head.innerHTML = '';
    body.innerHTML = '';
    $('llm-sla').textContent = '';
    $('llm-note').textContent = '';
    $('llm-pareto-note').textContent = '';
    if (!llmCases.list.length) {
      var why = llmCases.message || 'No LLM use cases are defined in this warehouse.';
      llmMessage(why);
      empty('llm-pareto', why);
      return Promise.resolve();
    }
    var useCase = llmCases.list.filter(function (c) { return c.use_case === state.use_case; })[0] || llmCases.list[0];
    $('llm-sla').textContent = useCase.description + ' ' + slaText(useCase.sla) + '.';
    return Promise.all([api('/llm/rankings', {use_case: useCase.use_case, limit: LLM_ROWS}), api('/llm/pareto')])
      .then(function (both) {
        var ranking = both[0].body, pareto = both[1].body;
        if (!pareto.points.length && !pareto.left_out) {
          var none = 'No LLM-serving results in this warehouse yet: ingest a vLLM, SGLang, AIPerf or llmperf ' +
                     'result file (with the GPU and its price) to see rankings and the Pareto front here.';
          llmMessage(none);
          return empty('llm-pareto', none);
        }
        var dropped = ranking.criteria_dropped.length ? '; not scored on ' + ranking.criteria_dropped.join(', ') +
                      ' (most candidates lack it)' : '';
        var unranked = ranking.unranked.length ? '; ' + ranking.unranked.length + ' more meet it but lack ' +
          ranking.unranked.map(function (u) { return u.lacks.join(', '); }).join('; ') + ' and are not ranked' : '';
        $('llm-note').textContent = '(TOPSIS with the use case\'s default weights over ' + ranking.candidates +
          ' configurations meeting its SLA' + dropped + unranked + '; ' + (ranking.cached ? 'stored ranking, valid until ' +
          String(ranking.expires_at).replace('T', ' ').slice(0, 16) + ' UTC' : 'computed now: the stored one ' +
          (ranking.reason === 'never computed' ? 'was never computed' : ranking.reason === 'expired' ?
           'expired' : 'predates the latest results')) + '; the filters above do not apply)';
        if (ranking.rankings.length) {
          llmMessage('');
          llmTable(ranking.rankings);
        } else {
          llmMessage('No configuration meets the ' + useCase.use_case + ' use case (' + slaText(useCase.sla) +
                     ', ' + useCase.characteristics.input_tokens.join('–') + ' tokens in, ' +
                     useCase.characteristics.output_tokens.join('–') + ' out).');
        }
        dash.drawn.llm = {message: $('llm-message').hidden ? null : $('llm-message').textContent,
                          use_case: useCase.use_case, cached: ranking.cached,
                          rows: ranking.rankings.map(function (r) { return r.result_id; })};
        return llmPareto(pareto);
      });
  }

  // -- wiring -----------------------------------------------------------------------------------------------

  function render() {
    var state = formState();
    var seq = ++renderSeq;
    dash.state = state;
    writeState(state);
    document.body.dataset.state = 'loading';
    showError('');
    var ranged = [['comparison', comparison], ['heatmap', heatmap], ['trend', trend], ['rankings', rankings]];
    var panels = ranged.concat([['llm-pareto', llm]]);  // the LLM panel takes no time range
    var problems = [];
    if (state.since && state.until && state.since > state.until) {
      // The API would refuse each request (400); one message here says what to fix.
      var wrong = 'From (' + state.since + ') is after To (' + state.until + '): pick a From on or before To.';
      ranged.forEach(function (p) { empty(p[0], wrong); });
      $('ranking-table').tHead.innerHTML = '';
      $('ranking-table').tBodies[0].innerHTML = '';
      problems.push(wrong);
      panels = [['llm-pareto', llm]];
    }
    return Promise.all(panels.map(function (p) {
      return p[1](state).catch(function (err) {
        var message = (err && err.message) || String(err);
        problems.push(p[0] + ': ' + message);
        empty(p[0], message);
      });
    })).then(function () {
      if (seq !== renderSeq) return;  // a newer render is on its way
      dash.errors = problems;
      if (problems.length) showError(problems.join(' · '));
      dash.renders += 1;
      document.body.dataset.state = 'ready';
      document.body.dataset.renders = String(dash.renders);
    });
  }

  function status() {
    return api('/health').then(function (res) {
      var h = res.body;
      var parts = [h.warehouse];
      if (h.status === 'ok') {
        parts.push(h.performance_results + ' performance results');
        if (h.last_ingest_at) parts.push('last ingest ' + h.last_ingest_at.replace('T', ' ').slice(0, 16) + ' UTC');
        if (h.open_regressions !== null) parts.push(h.open_regressions + ' open regressions');
        parts.push('schema v' + h.schema_version);
      } else {
        parts.push(h.message);
      }
      $('status').textContent = parts.join(' · ');
    }).catch(function (err) { $('status').textContent = 'health: ' + err.message; });
  }

  function loadChoices(initial) {
    var cases = api('/llm/use-cases').then(function (res) { return {list: res.body, message: null}; })
      .catch(function (err) {  // 409: a warehouse older than the LLM answers; said in the panel, not an error
        if (err instanceof ApiError && err.status === 409) return {list: [], message: err.message};
        throw err;
      });
    return Promise.all([api('/models', {per_page: 1000}), api('/hardware', {per_page: 1000}), cases]).then(function (both) {
      var models = both[0].body, hardware = both[1].body;
      llmCases = both[2];
      var caseSelect = $('use-case');
      llmCases.list.forEach(function (c) { option(caseSelect, c.use_case, c.use_case + ' (' + c.category + ')'); });
      var preferred = llmCases.list.some(function (c) { return c.use_case === initial.use_case; }) ? initial.use_case
        : (llmCases.list.some(function (c) { return c.use_case === 'chatbot'; }) ? 'chatbot'
           : (llmCases.list[0] || {}).use_case);
      caseSelect.value = preferred || '';
      caseSelect.disabled = !llmCases.list.length;
      var modelSelect = $('model');
      models.slice().sort(function (a, b) { return a.model_name < b.model_name ? -1 : 1; }).forEach(function (m) {
        option(modelSelect, m.model_name, m.model_name + ' (' + m.performance_results + ')');
      });
      var busiest = models.slice().sort(function (a, b) { return b.performance_results - a.performance_results; })[0];
      var hwSelect = $('hardware'), types = [];
      hardware.forEach(function (h) { if (types.indexOf(h.hardware_type) < 0) types.push(h.hardware_type); });
      types.sort().forEach(function (t) {
        option(hwSelect, t, t + ' (all devices)');
        hardware.filter(function (h) { return h.hardware_type === t && h.device_name; }).forEach(function (h) {
          if (!Array.prototype.some.call(hwSelect.options, function (o) { return o.value === h.device_name; })) {
            option(hwSelect, h.device_name, '   ' + h.hardware);
          }
        });
      });
      var known = models.some(function (m) { return m.model_name === initial.model; });
      modelSelect.value = known ? initial.model : (busiest ? busiest.model_name : '');
      hwSelect.value = initial.hardware;
      if (hwSelect.value !== initial.hardware) hwSelect.value = '';
      $('metric').value = initial.metric;
      $('since').value = initial.since;
      $('until').value = initial.until;
    });
  }

  function start() {
    if (!window.Plotly) {
      showError('plotly.min.js did not load from this server; the charts cannot be drawn.');
      document.body.dataset.state = 'error';
      return;
    }
    var initial = readState();
    status();
    loadChoices(initial).then(render).catch(function (err) {
      showError('Could not load the models and hardware: ' + err.message);
      document.body.dataset.state = 'error';
    });
    ['model', 'hardware', 'metric', 'since', 'until', 'use-case'].forEach(function (id) {
      $(id).addEventListener('change', render);
    });
    $('filters').addEventListener('submit', function (e) { e.preventDefault(); render(); });
    $('token').addEventListener('change', function () {
      window.sessionStorage.setItem(TOKEN_KEY, $('token').value.trim());
      window.location.reload();
    });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
