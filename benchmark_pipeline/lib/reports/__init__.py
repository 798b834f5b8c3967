"""Reports over the warehouse: sections built once (``build``), rendered as markdown, HTML or JSON (``render``)."""
