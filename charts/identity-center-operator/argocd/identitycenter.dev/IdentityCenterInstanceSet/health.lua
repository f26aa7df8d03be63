-- Argo CD health check for identitycenter.dev/IdentityCenterInstanceSet.
-- Argo CD runs it with gopher-lua (Lua 5.1): `obj` is the live object, the
-- script returns { status = ..., message = ... }. A set keeps one
-- IdentityCenterInstance per account of its OUs; its Ready condition counts
-- them ("x of y accounts have a Ready instance; n in progress, m failed").
--   identitycenter.dev/paused: "true"     -> Suspended (the set neither reads nor writes)
--   deletionTimestamp set                 -> Progressing "Deleting"
--   no status, or no conditions           -> Progressing "Waiting for the operator"
--   status.observedGeneration behind, or
--   that of a True Stalled/Ready condition
--   or of a Ready=False InstancesFailed   -> Progressing
--   Stalled=True (failureTolerance
--   exceeded, Organizations refused the
--   read, an OU not found, not permitted) -> Degraded, Stalled's message
--   Ready=True                            -> Healthy, Ready's message
--   Ready=False InstancesFailed (the
--   rollout is done, some accounts failed
--   within spec.rollout.failureTolerance) -> Degraded, Ready's message
--   anything else (RollingOut,
--   ReadingOrganization, a retried error) -> Progressing, Ready's message
local hs = { status = "Progressing", message = "Waiting for the operator" }

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

local annotations = metadata.annotations or {}
if annotations["identitycenter.dev/paused"] == "true" then
  hs.status = "Suspended"
  hs.message = "Paused (identitycenter.dev/paused): the set neither reads AWS Organizations nor writes its children"
  return hs
end

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

local stalled = find_condition(status.conditions, "Stalled")
local ready = find_condition(status.conditions, "Ready")

-- A verdict written for an older spec says nothing about this one.
if stalled ~= nil and stalled.status == "True" then
  if behind(stalled.observedGeneration) then
    return waiting_for(stalled.observedGeneration)
  end
  hs.status = "Degraded"
  hs.message = describe(stalled, "Stalled")
  return hs
end

if ready ~= nil and ready.status == "True" then
  if behind(ready.observedGeneration) then
    return waiting_for(ready.observedGeneration)
  end
  hs.status = "Healthy"
  hs.message = describe(ready, "Ready")
  return hs
end

-- The rollout is over and some accounts failed, within the tolerance:
-- nothing more is in progress, so waiting would not mend them.
if ready ~= nil and ready.status == "False" and ready.reason == "InstancesFailed" then
  if behind(ready.observedGeneration) then
    return waiting_for(ready.observedGeneration)
  end
  hs.status = "Degraded"
  hs.message = describe(ready, "InstancesFailed")
  return hs
end

hs.message = describe(ready, "Waiting for the set's instances to become ready")
return hs
