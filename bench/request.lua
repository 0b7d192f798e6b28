-- wrk script of the benchmark: sets the request from the environment, reports exact figures.
--
--   BENCH_METHOD        GET (default) or POST
--   BENCH_BODY_FILE     file whose bytes are the request body (POST scenarios)
--   BENCH_CONTENT_TYPE  Content-Type of the body
--   BENCH_SOAPACTION    SOAPAction header (when wrk talks to the SOAP backend directly)
--
-- done() prints one line "BENCH_JSON {...}" with exact microsecond latencies and the error
-- counters; bench/wrk.py reads it next to wrk's own --latency report.

local method = os.getenv("BENCH_METHOD")
if method and method ~= "" then
  wrk.method = method
end

local body_file = os.getenv("BENCH_BODY_FILE")
if body_file and body_file ~= "" then
  local f = assert(io.open(body_file, "rb"))
  wrk.body = f:read("*a")
  f:close()
end

local content_type = os.getenv("BENCH_CONTENT_TYPE")
if content_type and content_type ~= "" then
  wrk.headers["Content-Type"] = content_type
end

local action = os.getenv("BENCH_SOAPACTION")
if action and action ~= "" then
  wrk.headers["SOAPAction"] = '"' .. action .. '"'
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,'
      .. '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},'
      .. '"latency_us":{"mean":%.1f,"max":%d,"p50":%d,"p90":%d,"p99":%d,"p999":%d}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9)
  ))
end
