-- Argo CD health check for identitycenter.dev/IdentityCenterAccountGrant.
-- Argo CD runs it with gopher-lua (Lua 5.1): `obj` is the live object, the
-- script returns { status = ..., message = ... }. The operator writes a
-- grant's status (src/controller/tenancy/grants.rs) only with --tenancy
-- enforced: status.admitted, status.observedGeneration and one condition,
-- Ready (True Enforced, or False InvalidSelector when
-- spec.namespaces.selector cannot select anything).
--   deletionTimestamp set                 -> Progressing "Deleting"
--   no status, or no conditions           -> Progressing, waiting for the operator
--   status.observedGeneration behind, or
--   that of the Ready condition           -> Progressing
--   Ready=False                           -> Degraded, Ready's message
--   Ready=True                            -> Healthy, with how many objects it admits now
--                                            (none is no fault: objects may come later)
--   anything else                         -> Progressing, Ready's message
local hs = {
  status = "Progressing",
  message = "Waiting for the operator (it reports on grants only with --tenancy enforced)",
}

local function find_condition(conditions, condition_type)
  for _, c in ipairs(conditions) do
    if c.type == condition_type then
      return c
    end
  end
  return nil
end

-- A condition's message, else its reason, else the fallback.
local function describe(c, fallback)
  if c ~= nil then
    if c.message ~= nil and c.message ~= "" then
      return c.message
    end
    if c.reason ~= nil and c.reason ~= "" then
      return c.reason
    end
  end
  return fallback
end

local metadata = obj.metadata or {}
local status = obj.status

if metadata.deletionTimestamp ~= nil then
  hs.message = "Deleting"
  return hs
end

if status == nil or status.conditions == nil or #status.conditions == 0 then
  return hs
end

local generation = metadata.generation

-- True when `observed` is an older generation than the object's.
local function behind(observed)
  return generation ~= nil and observed ~= nil and observed < generation
end

local function waiting_for(observed)
  hs.message = "Waiting for the operator to observe generation " .. tostring(generation)
    .. " (observed " .. tostring(observed) .. ")"
  return hs
end

if behind(status.observedGeneration) then
  return waiting_for(status.observedGeneration)
end

local ready = find_condition(status.conditions, "Ready")

-- A condition written for an older spec says nothing about this one.
if ready ~= nil and behind(ready.observedGeneration) then
  return waiting_for(ready.observedGeneration)
end

if ready ~= nil and ready.status == "False" then
  hs.status = "Degraded"
  hs.message = describe(ready, "Not enforced")
  return hs
end

if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = describe(ready, "Enforced")
  local admitted = status.admitted
  if admitted ~= nil then
    if admitted == 0 then
      hs.message = hs.message .. " No object admitted now."
    elseif admitted == 1 then
      hs.message = hs.message .. " 1 object admitted now."
    else
      hs.message = hs.message .. " " .. tostring(admitted) .. " objects admitted now."
    end
  end
  return hs
end

hs.message = describe(ready, "Waiting for the operator to enforce the grant")
return hs
