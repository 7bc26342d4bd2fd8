-- single: one alert per request, rotating over the storm's 100 keys.
local c = dofile((os.getenv("BENCH_LUA_DIR") or "bench/lua") .. "/common.lua")
c.setup_post()

local requests = {}
local n = 0

function init(args)
  for i = 0, 99 do
    requests[#requests + 1] = wrk.format(nil, nil, nil, c.body({ c.alert(string.format("POP%03d", i)) }))
  end
  n = math.random(#requests)
end

function request()
  n = n % #requests + 1
  return requests[n]
end

done = c.done
