-- wrk script for bench/run.sh.
--
-- Miss mode (BENCH_MISS_PREFIX set): every request asks for a different key, so that every
-- request is a render-cache miss for enlarger (sharp has no cache). The keys are hard links
-- of one original that bench.py made in originals/: PREFIX-<thread>-<00000..COUNT-1><SUFFIX>,
-- so every request decodes the same bytes at the same width and format
-- (BENCH_MISS_QUERY, e.g. "?w=400&fmt=webp"). Each wrk thread walks its own range; a thread
-- that runs past COUNT wraps round and reports it, since those requests may be hits.
--
-- Always: done() prints one line "BENCH_JSON {...}" with the counts and latency
-- percentiles (microseconds) that bench.py reads.

local prefix = os.getenv("BENCH_MISS_PREFIX")
local count = tonumber(os.getenv("BENCH_MISS_COUNT") or "0")
local query = os.getenv("BENCH_MISS_QUERY") or ""
local suffix = os.getenv("BENCH_MISS_SUFFIX") or ".jpg"

local threads = {}
local next_id = 0

function setup(thread)
   thread:set("tid", next_id)
   next_id = next_id + 1
   table.insert(threads, thread)
end

function init(args)
   n = 0
   wrapped = 0
end

if prefix then
   function request()
      local i = n
      n = n + 1
      if i >= count then
         wrapped = wrapped + 1
      end
      local path = string.format("/render/%s-%d-%05d%s%s", prefix, tid, i % count, suffix, query)
      return wrk.format("GET", path)
   end
end

function done(summary, latency, requests)
   local issued, wraps = 0, 0
   for _, t in ipairs(threads) do
      issued = issued + (t:get("n") or 0)
      wraps = wraps + (t:get("wrapped") or 0)
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
      '"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,"err_timeout":%d,' ..
      '"lat_min":%d,"lat_p50":%d,"lat_p90":%d,"lat_p99":%d,"lat_max":%d,"lat_mean":%.1f,' ..
      '"issued":%d,"wrapped":%d}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency.min, latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.max, latency.mean, issued, wraps))
end
