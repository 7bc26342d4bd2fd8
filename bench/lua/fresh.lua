-- fresh: 20 alerts per request, every one with a PoP never seen before, so every
-- alert creates an incident (alertbridge) or an aggregation group (Alertmanager).
-- Keys are BENCH_NONCE (one per wrk run) + wrk thread id + request counter + index.
local c = dofile((os.getenv("BENCH_LUA_DIR") or "bench/lua") .. "/common.lua")
c.setup_post()

local nonce = os.getenv("BENCH_NONCE") or tostring(os.time())
local threads = 0
local counter = 0

-- Runs in wrk's main Lua state, once per thread, before the threads start.
function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

function request()
  counter = counter + 1
  local alerts = {}
  for i = 1, 20 do
    alerts[i] = c.alert(string.format("F%s-%d-%d-%d", nonce, id, counter, i))
  end
  return wrk.format(nil, nil, nil, c.body(alerts))
end

done = c.done
