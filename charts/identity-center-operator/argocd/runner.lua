-- Runs each health.lua against the cases that run_tests.py generated from
-- its health_test.yaml and testdata/, under a real Lua 5.1 interpreter, and
-- reports the checks run_tests.py made itself (layout, README snippet).
--
--   lua5.1 runner.lua path/to/cases.lua
--
-- Each case runs in a fresh environment holding only `obj` and the standard
-- functions Argo CD's gopher-lua VM offers, so a script that leans on
-- anything else (io, os, require, leaked globals) fails here too.
-- Prints one line per case and check and "N passed, M failed"; exits 1 on
-- any failure.

local cases_path = arg[1]
if cases_path == nil then
  io.stderr:write("usage: lua5.1 runner.lua CASES_LUA\n")
  os.exit(2)
end

local suite = dofile(cases_path)

local function sandbox(obj)
  return {
    obj = obj,
    assert = assert, error = error, ipairs = ipairs, next = next, pairs = pairs,
    pcall = pcall, select = select, tonumber = tonumber, tostring = tostring,
    type = type, unpack = unpack,
    math = math, string = string, table = table,
  }
end

local valid_status = {
  Healthy = true, Progressing = true, Degraded = true,
  Suspended = true, Missing = true, Unknown = true,
}

local passed, failed = 0, 0

local function report(ok, name, detail)
  if ok then
    passed = passed + 1
    print("ok - " .. name)
  else
    failed = failed + 1
    print("not ok - " .. name)
    print("    " .. detail:gsub("\n", "\n    "))
  end
end

for _, script in ipairs(suite.scripts) do
  local chunk, load_err = loadfile(script.path)
  if chunk == nil then
    report(false, script.path, "does not compile: " .. tostring(load_err))
  else
    for _, case in ipairs(script.cases) do
      setfenv(chunk, sandbox(case.obj))
      local ok, hs = pcall(chunk)
      if not ok then
        report(false, case.name, "error: " .. tostring(hs))
      elseif type(hs) ~= "table" then
        report(false, case.name, "returned " .. type(hs) .. ", want a table")
      elseif not valid_status[hs.status] then
        report(false, case.name, "status " .. tostring(hs.status) .. " is not an Argo CD health status")
      elseif hs.status ~= case.want.status or hs.message ~= case.want.message then
        report(false, case.name, string.format(
          "got  status=%q message=%q\nwant status=%q message=%q",
          tostring(hs.status), tostring(hs.message), case.want.status, case.want.message))
      else
        report(true, case.name .. " -> " .. hs.status .. ": " .. hs.message)
      end
    end
  end
end

for _, check in ipairs(suite.checks) do
  report(check.error == nil, check.name, check.error or "")
end

print(string.format("%d passed, %d failed", passed, failed))
if failed > 0 then
  os.exit(1)
end
