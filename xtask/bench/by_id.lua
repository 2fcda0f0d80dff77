-- GET /api/v1/interventions/{id} with ids drawn uniformly from 1..BENCH_MAX_ID.
dofile(os.getenv("BENCH_LUA_DIR") .. "/lib.lua")

local max_id = tonumber(os.getenv("BENCH_MAX_ID"))
local headers = bench.auth_headers()

function init(args)
   math.randomseed(7919 * (tid + 1))
end

function request()
   return wrk.format("GET", "/api/v1/interventions/" .. math.random(1, max_id), headers)
end
