"""collectstatic without what npm ships beside the builds the pages use: the ES-module,
CommonJS and unminified bundles of ECharts, htmx and SortableJS and ECharts' source maps.
Left in, they were most of a 150 MB STATIC_ROOT and of collectstatic's minutes compressing
them (gzip and Brotli) in every image build; no page links them. Other source maps stay:
a file that names its map (Swagger UI's, Redoc's) must find it, or the hashing step fails."""

from django.contrib.staticfiles.apps import StaticFilesConfig


class StaticFiles(StaticFilesConfig):
    ignore_patterns = [
        *StaticFilesConfig.ignore_patterns,
        "*.esm.*", "*.mjs", "*.cjs.js", "*.amd.js", "*.d.ts", "*.gz", "echarts*.map",
        "echarts.js", "echarts.common*", "echarts.simple*", "extension", "modular", "src",
        "htmx.js", "Sortable.js", "README.md", "LICENSE", "package.json",
    ]
