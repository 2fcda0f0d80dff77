-- A lifecycle action that is a valid transition every time: interventions of BENCH_IDS_FILE
-- (one id a line, all in the same statut) are suspended then resumed in rounds, each wrk
-- thread owning every BENCH_THREADS-th id. BENCH_FIRST_ACTION is `suspendre` for a pool of
-- `en_cours` interventions and `reprendre` for one of `en_attente`. An id comes back only
-- after the thread's whole share has been sent, hundreds of requests later, so its previous
-- action has long been answered (16 connections per thread).
dofile(os.getenv("BENCH_LUA_DIR") .. "/lib.lua")

local first = os.getenv("BENCH_FIRST_ACTION")
local second = (first == "suspendre") and "reprendre" or "suspendre"
local headers = bench.auth_headers({ ["Content-Type"] = "application/json" })
local ids = {}
local n = 0

function init(args)
   local k = 0
   for line in io.lines(os.getenv("BENCH_IDS_FILE")) do
      if k % bench.threads == tid then table.insert(ids, line) end
      k = k + 1
   end
end

function request()
   local i = n % #ids
   local action = (math.floor(n / #ids) % 2 == 0) and first or second
   n = n + 1
   return wrk.format("POST", "/api/v1/interventions/" .. ids[i + 1] .. "/" .. action, headers, "{}")
end
