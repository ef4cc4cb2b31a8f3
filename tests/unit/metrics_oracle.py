"""The metrics exposition read back by prometheus_client's own parser (Debian's
python3-prometheus-client), an oracle independent of tests/unit/test_metrics.c.

usage: metrics_oracle.py path/to/test_metrics
"""
import os
import subprocess
import sys
import tempfile

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    print("python3-prometheus-client is not installed: skipped")
    sys.exit(77)


def main():
    binary = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        dump = os.path.join(tmp, "metrics.txt")
        env = dict(os.environ, ENL_METRICS_DUMP=dump)
        subprocess.run([binary], env=env, check=True, stdout=subprocess.DEVNULL)
        with open(dump, encoding="utf-8") as f:
            text = f.read()

    families = {f.name: f for f in text_string_to_metric_families(text)}
    failures = []

    def check(cond, what):
        if not cond:
            failures.append(what)

    def sample(family, name, **labels):
        for s in families[family].samples:
            if s.name == name and s.labels == labels:
                return s.value
        return None

    # prometheus_client names counter families without "_total".
    for name, kind in [
        ("enlarger_http_requests", "counter"),
        ("enlarger_http_request_duration_seconds", "histogram"),
        ("enlarger_http_request_bytes", "counter"),
        ("enlarger_http_response_bytes", "counter"),
        ("enlarger_render_cache_hits", "counter"),
        ("enlarger_render_cache_misses", "counter"),
        ("enlarger_vips_memory_bytes", "gauge"),
    ]:
        check(name in families and families[name].type == kind, f"{name} is a {kind}")

    req = "enlarger_http_requests"
    check(sample(req, "enlarger_http_requests_total", route="render", code="200") == 2,
          "render 200 count")
    check(sample(req, "enlarger_http_requests_total", route="process", code="422") == 1,
          "process 422 count")
    check(sample(req, "enlarger_http_requests_total", route="we_ird_name", code="200") == 1,
          "escaped route label")

    hist = "enlarger_http_request_duration_seconds"
    b = "enlarger_http_request_duration_seconds_bucket"
    check(sample(hist, b, route="render", le="0.005") == 2, "render le 0.005")
    check(sample(hist, b, route="render", le="0.25") == 3, "render le 0.25")
    check(sample(hist, b, route="render", le="+Inf") == 4, "render le +Inf")
    check(sample(hist, "enlarger_http_request_duration_seconds_count", route="render") == 4,
          "render count")
    s = sample(hist, "enlarger_http_request_duration_seconds_sum", route="render")
    check(s is not None and abs(s - 100.207) < 1e-9, "render sum")
    # Cumulative buckets, in increasing le, per route.
    per_route = {}
    for smp in families[hist].samples:
        if smp.name == b:
            per_route.setdefault(smp.labels["route"], []).append(
                (float(smp.labels["le"]), smp.value))
    for route, buckets in per_route.items():
        les = [le for le, _ in buckets]
        vals = [v for _, v in buckets]
        check(les == sorted(les) and les[-1] == float("inf"), f"{route} bucket order")
        check(vals == sorted(vals), f"{route} buckets cumulative")

    check(sample("enlarger_http_request_bytes", "enlarger_http_request_bytes_total") == 1200,
          "bytes in")
    check(sample("enlarger_http_response_bytes", "enlarger_http_response_bytes_total") == 3350,
          "bytes out")
    check(sample("enlarger_render_cache_hits", "enlarger_render_cache_hits_total") == 2, "hits")
    check(sample("enlarger_render_cache_misses", "enlarger_render_cache_misses_total") == 1,
          "misses")
    check(sample("enlarger_vips_memory_bytes", "enlarger_vips_memory_bytes") == 123456789.0,
          "vips memory gauge")

    for f in failures:
        print("FAILED:", f)
    print(f"{len(families)} families parsed, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
