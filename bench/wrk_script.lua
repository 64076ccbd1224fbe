-- Request generator for wrk, driven by environment variables the harness sets (bench/load.py):
--   BENCH_METHOD, BENCH_PATH  the request line
--   BENCH_LINES               a file with one request per line: a JSON body, or a header value
--   BENCH_HEADER              when set, each line is this header's value and there is no body
-- Every request is formatted once in init(); request() cycles through them, so each connection sends
-- many distinct tokens (the lookup is never one hot row) at no per-request scripting cost.
-- done() prints one machine-readable line the harness parses.

local requests = {}
local index = 0

function init(args)
   local method = os.getenv("BENCH_METHOD")
   local path = os.getenv("BENCH_PATH")
   local header = os.getenv("BENCH_HEADER") or ""
   for line in io.lines(os.getenv("BENCH_LINES")) do
      if line ~= "" then
         if header ~= "" then
            requests[#requests + 1] = wrk.format(method, path, { [header] = line }, nil)
         else
            requests[#requests + 1] =
               wrk.format(method, path, { ["Content-Type"] = "application/json" }, line)
         end
      end
   end
   math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
   index = math.random(#requests)
end

function request()
   index = index % #requests + 1
   return requests[index]
end

function done(summary, latency, _)
   io.write(string.format(
      "BENCH_RESULT {\"requests\": %d, \"duration_us\": %d, \"status_errors\": %d, " ..
      "\"connect_errors\": %d, \"read_errors\": %d, \"write_errors\": %d, \"timeouts\": %d, " ..
      "\"p50_us\": %d, \"p90_us\": %d, \"p99_us\": %d, \"mean_us\": %.1f, \"max_us\": %d}\n",
      summary.requests, summary.duration, summary.errors.status, summary.errors.connect,
      summary.errors.read, summary.errors.write, summary.errors.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.max))
end
