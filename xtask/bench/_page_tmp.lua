dofile(os.getenv("BENCH_LUA_DIR") .. "/lib.lua")
local headers = bench.auth_headers()
function request()
   return wrk.format("GET", os.getenv("BENCH_PATH"), headers)
end
