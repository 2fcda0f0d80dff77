-- The mixed workload, in every 20 requests of a thread: 16 reads (8 interventions by random
-- id, 5 filtered pages of 50, 3 dashboards) = 80 %, 3 creations = 15 %, 1 login = 5 %.
dofile(os.getenv("BENCH_LUA_DIR") .. "/lib.lua")

local max_id = tonumber(os.getenv("BENCH_MAX_ID"))
local page = os.getenv("BENCH_PAGE")
local login = os.getenv("BENCH_LOGIN_BODY")
local equipements = {}
for id in string.gmatch(os.getenv("BENCH_EQUIPEMENTS"), "%d+") do
   table.insert(equipements, id)
end
local read = bench.auth_headers()
local write = bench.auth_headers({ ["Content-Type"] = "application/json" })
local anonymous = { ["Content-Type"] = "application/json" }
local n = 0

function init(args)
   math.randomseed(104729 * (tid + 1))
end

function request()
   local slot = n % 20
   n = n + 1
   if slot < 8 then
      return wrk.format("GET", "/api/v1/interventions/" .. math.random(1, max_id), read)
   elseif slot < 13 then
      return wrk.format("GET", page, read)
   elseif slot < 16 then
      return wrk.format("GET", "/api/v1/dashboard/stats", read)
   elseif slot < 19 then
      local body = string.format(
         '{"titre":"mixed %d-%d","type":"corrective","equipement_id":%s}',
         tid, n, equipements[(n % #equipements) + 1])
      return wrk.format("POST", "/api/v1/interventions", write, body)
   else
      return wrk.format("POST", "/api/v1/auth/token", anonymous, login)
   end
end
