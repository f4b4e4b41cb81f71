-- wrk script for bench/intake-wrk.sh: POST /api/v1/cases with a distinct Idempotency-Key on every
-- request. TOKEN and COMPOUND come from the environment.
local counter = 0
local body = '{"category":"static_control","compound_id":' .. os.getenv("COMPOUND") ..
  ',"description":"wrk 东门岗无人值守"}'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")

-- LuaJIT's math.random is not seeded: each run would draw the same prefixes and replay the keys
-- of the run before (answered by reading the case back, not by filing one). The prefix names the
-- run (the second it started) and the thread; bench/intake-wrk.sh checks that every request
-- made a case.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("prefix", string.format("%d.%d", os.time(), threads))
end

request = function()
  counter = counter + 1
  wrk.headers["Idempotency-Key"] = prefix .. "-" .. counter
  return wrk.format(nil, "/api/v1/cases", nil, body)
end

done = function(summary, latency)
  io.write(string.format("wrk: %d requests, %.0f/s, p50 %.1f ms, p99 %.1f ms, errors %d\n",
    summary.requests, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout))
end
