-- A lifecycle action that is a valid transition every time: the interventions of
-- BENCH_IDS_FILE (one id a line, all `en_cours` or all `en_attente`) are suspended and resumed
-- in turn, each wrk thread owning every BENCH_THREADS-th id. An id waits in its thread's queue
-- until the answer to its previous action has come back (the answer names the intervention and
-- its new statut), so no two actions on one intervention are ever in flight together.
dofile(os.getenv("BENCH_LUA_DIR") .. "/lib.lua")

local next_action = { en_cours = "suspendre", en_attente = "reprendre" }
local first = os.getenv("BENCH_FIRST_ACTION")
local headers = bench.auth_headers({ ["Content-Type"] = "application/json" })
-- A FIFO of { id, action } (head and tail indices into `queue`).
local queue, head, tail = {}, 1, 0

local function push(id, action)
   tail = tail + 1
   queue[tail] = { id, action }
end

function init(args)
   local k = 0
   for line in io.lines(os.getenv("BENCH_IDS_FILE")) do
      if k % bench.threads == tid then push(line, first) end
      k = k + 1
   end
end

function request()
   local item = queue[head]
   if head <= tail then
      queue[head] = nil
      head = head + 1
   end
   -- An empty queue (every id lost to an error) asks for intervention 0: a counted 404.
   item = item or { "0", first }
   return wrk.format("POST", "/api/v1/interventions/" .. item[1] .. "/" .. item[2], headers, "{}")
end

function response(status, headers, body)
   if count(status, body) then
      local id = string.match(body, '"id":(%d+)')
      local action = next_action[string.match(body, '"statut":"([%a_]+)"') or ""]
      if id and action then push(id, action) end
   end
end
