-- Loaded by every scenario script of `cargo xtask bench` (wrk 4): counts non-2xx answers as
-- errors and prints one parseable result line. wrk runs setup() and done() in its main Lua
-- state and response() in each thread's own state, so counts travel through thread:get().

local threads = {}
local started = 0

function setup(thread)
   -- Each thread learns its index (and the thread count from the harness) before init().
   thread:set("tid", started)
   started = started + 1
   table.insert(threads, thread)
end

non2xx = 0
first_error = ""

-- Counts an answer; true when it is a success (2xx).
function count(status, body)
   if status >= 200 and status <= 299 then return true end
   non2xx = non2xx + 1
   if first_error == "" then
      first_error = tostring(status) .. " " .. string.sub(body or "", 1, 200)
   end
   return false
end

function response(status, headers, body)
   count(status, body)
end

function done(summary, latency, requests)
   local bad = 0
   local sample = ""
   for _, thread in ipairs(threads) do
      bad = bad + thread:get("non2xx")
      local e = thread:get("first_error")
      if sample == "" and e ~= nil then sample = e end
   end
   local e = summary.errors
   if sample == "" and e.connect + e.read + e.write + e.timeout > 0 then
      sample = string.format("socket errors: %d connect, %d read, %d write, %d timeout",
                             e.connect, e.read, e.write, e.timeout)
   end
   io.write(string.format(
      "BENCH_RESULT requests=%d duration_us=%d p50_us=%d p95_us=%d p99_us=%d non2xx=%d socket_errors=%d\n",
      summary.requests, summary.duration,
      math.floor(latency:percentile(50)), math.floor(latency:percentile(95)),
      math.floor(latency:percentile(99)),
      bad, e.connect + e.read + e.write + e.timeout))
   if sample ~= "" then
      io.write("BENCH_FIRST_ERROR " .. string.gsub(sample, "\n", " ") .. "\n")
   end
end

-- Environment shared by the scripts.
bench = {
   token = os.getenv("BENCH_TOKEN") or "",
   threads = tonumber(os.getenv("BENCH_THREADS") or "2"),
}

function bench.auth_headers(extra)
   local h = { ["Authorization"] = "Bearer " .. bench.token }
   for k, v in pairs(extra or {}) do h[k] = v end
   return h
end
