-- POST /api/v1/interventions: a corrective intervention on each seeded équipement in turn
-- (BENCH_EQUIPEMENTS, comma-separated ids).
dofile(os.getenv("BENCH_LUA_DIR") .. "/lib.lua")

local equipements = {}
for id in string.gmatch(os.getenv("BENCH_EQUIPEMENTS"), "%d+") do
   table.insert(equipements, id)
end
local headers = bench.auth_headers({ ["Content-Type"] = "application/json" })
local n = 0

function request()
   n = n + 1
   local body = string.format(
      '{"titre":"bench %d-%d","type":"corrective","equipement_id":%s}',
      tid, n, equipements[(n % #equipements) + 1])
   return wrk.format("POST", "/api/v1/interventions", headers, body)
end
