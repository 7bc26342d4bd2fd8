-- Shared by the wrk scenario scripts of bench/run: the alert payloads of both
-- sides and the result line.
--
-- BENCH_FORMAT=native        alertbridge's POST /api/v1/alerts (DESIGN.md §3)
-- BENCH_FORMAT=alertmanager  Alertmanager's POST /api/v2/alerts (postableAlerts)
-- BENCH_STARTS_AT            startsAt / starts_at of every alert (RFC 3339)
local M = {}

M.format = os.getenv("BENCH_FORMAT") or "native"
M.starts_at = os.getenv("BENCH_STARTS_AT") or "2026-01-01T00:00:00Z"

-- One EdgeLatencyHigh alert of a PoP as a JSON object. The shipped rule
-- edge-latency deduplicates these on {{alertname}}/{{pop}}/{{service}}; the
-- Alertmanager side groups on the same labels (bench/run writes its config).
function M.alert(pop)
  if M.format == "alertmanager" then
    return string.format(
      '{"labels":{"alertname":"EdgeLatencyHigh","pop":"%s","region":"apac","service":"cdn-edge",' ..
      '"severity":"warning"},"annotations":{"summary":"p95 latency 1.4s at %s (threshold 800ms)",' ..
      '"runbook":"https://wiki.example.com/runbooks/edge-latency"},"startsAt":"%s",' ..
      '"generatorURL":"http://127.0.0.1/bench"}', pop, pop, M.starts_at)
  end
  return string.format(
    '{"source":"bench","status":"firing","severity":"warning",' ..
    '"summary":"p95 latency 1.4s at %s (threshold 800ms)","labels":{"alertname":"EdgeLatencyHigh",' ..
    '"pop":"%s","region":"apac","service":"cdn-edge"},' ..
    '"annotations":{"runbook":"https://wiki.example.com/runbooks/edge-latency"},' ..
    '"starts_at":"%s","value":1.4,"threshold":0.8}', pop, pop, M.starts_at)
end

-- A request body holding these alert objects: always a JSON array, except that
-- one native alert is sent as a plain object (both are valid native bodies).
function M.body(alerts)
  if #alerts == 1 and M.format == "native" then return alerts[1] end
  return "[" .. table.concat(alerts, ",") .. "]"
end

function M.setup_post()
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

-- wrk calls done() once, in its main Lua state, after the run. wrk counts a
-- response with status > 399 in errors.status; both servers answer 2xx on success.
function M.done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK requests=%d duration_us=%d status_errors=%d connect=%d read=%d write=%d timeout=%d " ..
    "lat_p50_us=%d lat_p99_us=%d\n",
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    math.floor(latency:percentile(50)), math.floor(latency:percentile(99))))
end

return M
