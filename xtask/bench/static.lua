-- One fixed request, built once by wrk: the URL's path and query, with the bearer token of
-- BENCH_TOKEN when set, and BENCH_BODY as a JSON POST body when set.
dofile(os.getenv("BENCH_LUA_DIR") .. "/lib.lua")

if bench.token ~= "" then
   wrk.headers["Authorization"] = "Bearer " .. bench.token
end
local body = os.getenv("BENCH_BODY") or ""
if body ~= "" then
   wrk.method = "POST"
   wrk.body = body
   wrk.headers["Content-Type"] = "application/json"
end
