-- wrk script of bench/oidc_token.py: POST each prepared body exactly once, then stop.
--
--   wrk -t T -c C -d MAX -s oidc_token.lua URL -- BODIES THREADS AUTHORIZATION OUT_PREFIX DONE
--
-- Thread k takes lines k, k+T, k+2T... of BODIES. A token request must never be sent twice
-- (a code used twice is a replay, and revokes what it gave), so once a thread's share is sent,
-- its other connections ask for the JWKS (a harmless GET, at most C/T - 1 of them) until the
-- thread stops. When OUT_PREFIX is given, each thread writes the refresh tokens it receives to
-- OUT_PREFIX.<k>, one a line (the next measurement's bodies).
--
-- wrk itself runs for the whole -d even when every thread has stopped, so it cannot time the
-- run: each thread notes the wall clock at its first request and at its last answer, and
-- done() prints the span from the earliest start to the latest end. A finished thread creates
-- the file DONE.<k>; when all exist, bench/oidc_token.py stops wrk with SIGINT (wrk then
-- prints its summary and calls done() as at the end of -d).

local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

local function clock_ns()
  local pipe = io.popen("date +%s%N")
  local value = pipe:read("*l")
  pipe:close()
  return value
end

function init(args)
  local count = tonumber(args[2])
  bodies = {}
  local i = 0
  for line in io.lines(args[1]) do
    if i % count == tid then bodies[#bodies + 1] = line end
    i = i + 1
  end
  -- wrk calls request() once on thread 0's state to check the script, and never sends that
  -- request: thread 0 starts one lower so that the check gets a filler, not a body.
  sent = (tid == 0) and -1 or 0
  answered = 0
  started, finished = "", ""
  token_path = wrk.path
  auth = args[3]
  out = nil
  if args[4] and args[4] ~= "" then out = io.open(args[4] .. "." .. tid, "w") end
  done_marker = args[5] .. "." .. tid
end

function request()
  sent = sent + 1
  if sent < 1 or sent > #bodies then
    return wrk.format("GET", "/oidc/jwks")
  end
  if sent == 1 then started = clock_ns() end
  return wrk.format("POST", token_path, {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Authorization"] = auth,
  }, bodies[sent])
end

function response(status, headers, body)
  if string.find(body, '"keys"', 1, true) then return end  -- one of the JWKS fillers
  answered = answered + 1
  if out then
    local token = string.match(body, '"refresh_token":%s*"([^"]+)"')
    if token then out:write(token, "\n") end
  end
  if answered >= #bodies then
    finished = clock_ns()
    if out then out:close(); out = nil end
    local marker = io.open(done_marker, "w")
    marker:write(started, " ", finished, "\n")
    marker:close()
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local first, last, total = nil, nil, 0
  for _, thread in ipairs(threads) do
    local s, f = tonumber(thread:get("started")), tonumber(thread:get("finished"))
    total = total + thread:get("answered")
    if s and (not first or s < first) then first = s end
    if not f then last = -1 elseif last ~= -1 and (not last or f > last) then last = f end
  end
  local span = (first and last and last > 0) and (last - first) or -1
  io.write(string.format(
    "oidc-bench answered=%d span_ns=%.0f p50_us=%d p95_us=%d non2xx=%d\n",
    total, span, latency:percentile(50), latency:percentile(95), summary.errors.status))
end
