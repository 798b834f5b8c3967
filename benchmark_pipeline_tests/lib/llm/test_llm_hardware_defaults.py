"""What names imply (hardware type, bits, format, parameters) and what the ingest options and sidecars may say."""

from __future__ import annotations

import pytest

from benchmark_pipeline.lib.llm.defaults import LlmDefaults, parse_framework
from benchmark_pipeline.lib.llm.errors import LlmFormatError
from benchmark_pipeline.lib.llm.hardware import (accelerator_type, bits_of, hardware_type, parameters_from_name,
                                                 vram_required_gb, weights_format)


@pytest.mark.parametrize("name, kind", [
    ("NVIDIA A100-SXM4-80GB", "cuda"), ("H100", "cuda"), ("NVIDIA H100 80GB HBM3", "cuda"), ("Tesla T4", "cuda"),
    ("L4", "cuda"), ("L40S", "cuda"), ("GH200-GraceHopper-Superchip", "cuda"), ("4xH100-SXM_TRT", "cuda"),
    ("MI300X", "rocm"), ("AMD Instinct MI325X", "rocm"), ("8xMI300X_2xEPYC-9374F", "rocm"),
    ("Ascend910B", "npu"), ("TPU v5e", "tpu"), ("Gaudi2", "hpu"), ("Apple M2", "mps"),
    ("cuda", "cuda"), ("Mystery 9000", None), ("", None),
])
def test_accelerator_names_have_a_type(name, kind):
    assert accelerator_type(name) == kind


def test_the_most_specific_name_decides_the_type():
    assert hardware_type(hosted=True, gpu="H100") == "hosted"
    assert hardware_type(gpu="Intel Xeon") is None  # a GPU field that names no accelerator: not guessed
    assert hardware_type(cpu="AMD EPYC 9374F") == "cpu"  # a CPU field is a CPU, whoever made it
    assert hardware_type(system="1-node-2S-GNR-PyTorch") == "cpu"
    assert hardware_type(system="8xMI300X_2xEPYC-9374F") == "rocm"
    assert hardware_type(system="acme-box") is None and hardware_type() is None


@pytest.mark.parametrize("names, bits", [
    (("awq",), 4), (("gptq",), None), (("gptq-int4",), 4), (("fp8",), 8), (("q4_k_m",), 4), (("Q8_0",), 8),
    (("bfloat16",), 16), (("float32",), 32), (("nf4",), 4), (("w4a16",), 4), ((None, "float16"), 16), ((None,), None),
])
def test_bits_of_a_scheme_or_dtype(names, bits):
    assert bits_of(*names) == bits


def test_weights_format_parameters_and_vram():
    assert weights_format("awq", None) == "awq" and weights_format("q4_k_m", None) == "gguf"
    assert weights_format(None, "llama-3.2-3b-instruct-gguf:q4_k_m") == "gguf"
    assert weights_format("fp8", "acme/llm-8b") is None  # not said: not guessed
    # bf16 / f16 are every framework's dtypes: gguf only as a llama.cpp / Ollama model tag.
    assert weights_format("bf16", "meta-llama/Llama-3.1-8B") is None and weights_format("f16", None) is None
    assert weights_format("f16", "llama3:f16") == "gguf"
    assert parameters_from_name("meta-llama/Llama-3.1-70B-Instruct") == 70e9
    assert parameters_from_name("facebook/opt-125m") == 125e6
    assert parameters_from_name("mixtral-8x7b") is None  # 8x7b is not 56B
    assert parameters_from_name("Qwen/Qwen3-30B-A3B") == 30e9 and parameters_from_name("BAAI/bge-base") is None
    assert vram_required_gb(70e9, 16) == pytest.approx(70e9 * 2 * 1.2 / 2 ** 30)  # ~156.5 GB
    assert vram_required_gb(None, 16) is None and vram_required_gb(7e9, None) is None


def test_options_parse_and_refuse_with_the_option_named():
    options = LlmDefaults.from_options(gpu="H100", gpu_count=8, framework="vLLM==0.6.3", cost_per_hour=98.32)
    assert (options.framework, options.framework_version, options.cost_per_hour_usd) == ("vllm", "0.6.3", 98.32)
    assert options.fingerprint() == ('{"cost_per_hour_usd":98.32,"framework":"vllm","framework_version":"0.6.3",'
                                     '"gpu":"H100","gpu_count":8}')
    assert not LlmDefaults() and options
    assert parse_framework("sglang") == ("sglang", None)
    with pytest.raises(ValueError, match="gpu_count 0 is not a whole number >= 1"):
        LlmDefaults(gpu_count=0)
    with pytest.raises(ValueError, match="is not NAME or NAME==VERSION"):
        LlmDefaults.from_options(framework="vllm 0.6")


def test_a_sidecar_is_read_strictly():
    sidecar = LlmDefaults.from_mapping({"gpu": "A100", "gpu_count": 2, "parameters": "70B", "spot": True,
                                        "cost_per_hour": 4, "framework": "tgi==2.0", "format": "safetensors"}, "x")
    assert (sidecar.parameters, sidecar.cost_per_hour_usd, sidecar.framework_version) == (70e9, 4.0, "2.0")
    assert sidecar.weights_format == "safetensors"
    for bad, field, problem in [({"gpus": 2}, "gpus", "unknown key"), ({"gpu_count": 1.5}, "gpu_count", "whole"),
                                ({"spot": "yes"}, "spot", "true or false"), ({"parameters": "many"}, "parameters",
                                                                            "parameter count")]:
        with pytest.raises(LlmFormatError) as refused:
            LlmDefaults.from_mapping(bad, "run.json.meta.json")
        assert (refused.value.file, refused.value.field) == ("run.json.meta.json", field)
        assert problem in refused.value.problem
    with pytest.raises(LlmFormatError, match="must be a JSON object"):
        LlmDefaults.from_mapping(["H100"], "x")
