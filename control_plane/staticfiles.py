"""collectstatic without what npm ships beside the builds the pages use: source maps,
ES-module, CommonJS and unminified bundles of ECharts, htmx and SortableJS. Left in, they
were most of a 150 MB STATIC_ROOT and of collectstatic's minutes compressing them (gzip and
Brotli) in every image build; no page links them."""

from django.contrib.staticfiles.apps import StaticFilesConfig


class StaticFiles(StaticFilesConfig):
    ignore_patterns = [
        *StaticFilesConfig.ignore_patterns,
        "*.map", "*.esm.*", "*.mjs", "*.cjs.js", "*.amd.js", "*.d.ts", "*.gz",
        "echarts.js", "echarts.common*", "echarts.simple*", "extension", "modular", "src",
        "htmx.js", "Sortable.js", "README.md", "LICENSE", "package.json",
    ]
