-- storm: 100 alerts per request that keep hitting the same 100 keys (POP000..POP099).
local c = dofile((os.getenv("BENCH_LUA_DIR") or "bench/lua") .. "/common.lua")
c.setup_post()

local alerts = {}
for i = 0, 99 do alerts[#alerts + 1] = c.alert(string.format("POP%03d", i)) end
wrk.body = c.body(alerts)

done = c.done
