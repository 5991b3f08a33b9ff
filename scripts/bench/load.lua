-- wrk script for scripts/bench/load: token refresh and a mixed flow, each with state per session.
--
-- wrk -s scripts/bench/load.lua URL -- MODE SESSIONS_FILE THREADS ACCESS_TOKEN [DELAY_MS]
--   MODE refresh: every request is POST /auth/token/refresh with a session's current refresh
--     token; the rotated token in the answer replaces it. Each thread owns its own sessions
--     (every THREADS-th line of the file), queued, so no token is ever sent twice at once:
--     a reused token would (rightly) revoke its session.
--   MODE login: every request is a password login (one Argon2id verification), the users
--     of the file in turn (scripts/bench/login-memory).
--   MODE mixed: of every 20 requests, 1 password login (one Argon2id verification, the
--     users of the file in turn), 4 refreshes and 15 GET /users/me with ACCESS_TOKEN: a
--     day's mix of page loads, token renewals and sign-ins.
-- SESSIONS_FILE: one session per line, "email<TAB>refresh token" (scripts/stepauth_client.py).
-- DELAY_MS (optional): each connection waits this long before each request, to hold a
--   steady rate below capacity instead of as fast as it goes.

local thread_count = 0

function setup(thread)
  thread:set("id", thread_count)
  thread_count = thread_count + 1
end

function init(args)
  mode, threads, access, pause = args[1], tonumber(args[3]), args[4], tonumber(args[5] or "0")
  queue, first, last, emails, seen = {}, 1, 0, {}, {}
  local line_number = 0
  for line in io.lines(args[2]) do
    local email, token = line:match("^([^\t]+)\t(.+)$")
    if line_number % threads == id then
      last = last + 1
      queue[last] = token
    end
    if not seen[email] then
      seen[email] = true
      emails[#emails + 1] = email
    end
    line_number = line_number + 1
  end
  counter = 0
end

function delay()
  return pause
end

local function refresh()
  if first > last then
    error("more requests in flight than sessions: give the load more sessions")
  end
  local token = queue[first]
  queue[first] = nil
  first = first + 1
  return wrk.format("POST", "/auth/token/refresh", { ["content-type"] = "application/json" },
    '{"refresh_token":"' .. token .. '"}')
end

function request()
  counter = counter + 1
  if mode == "refresh" then
    return refresh()
  end
  local slot = counter % 20
  if mode == "login" or slot == 0 then
    return wrk.format("POST", "/auth/login", { ["content-type"] = "application/json" },
      '{"email":"' .. emails[counter % #emails + 1] .. '","password":"Correct-Horse-7-Battery"}')
  elseif slot <= 4 then
    return refresh()
  end
  return wrk.format("GET", "/users/me", { ["authorization"] = "Bearer " .. access })
end

function response(status, headers, body)
  local token = body:match('"refresh_token":"([^"]+)"')
  if token then
    last = last + 1
    queue[last] = token
  end
  if status >= 400 then
    failures = (failures or 0) + 1
    if failures <= 3 then
      io.stderr:write("answer " .. status .. ": " .. body .. "\n")
    end
  end
end
