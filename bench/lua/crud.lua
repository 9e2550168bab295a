-- Mixed CRUD on Patient, one Lua state for all connections (wrk -t1). Each cycle of four
-- requests is:
--   1. POST   {base}                       create (server-assigned id, 201 + Location)
--   2. GET    {base}/{pool}-{k % size}     read one of the pre-created pool
--   3. PUT    {base}/{pool}-{(k+37) % size} update another pool member (new content)
--   4. DELETE {base}/{id}                  delete the oldest resource created in step 1
--                                          (id taken from the Location header; when none
--                                          is waiting yet, a never-created id, 204 too)
-- {base} is the URL's path (e.g. /fhir/Patient); BENCH_POOL and BENCH_POOL_SIZE name the
-- pool that bench/run.py created before the run.

local base = wrk.path
local pool = os.getenv("BENCH_POOL") or "bench-pool"
local pool_size = tonumber(os.getenv("BENCH_POOL_SIZE") or "100")
local counter = 0
local created, head, tail = {}, 1, 0

local function headers(with_body)
  local h = {}
  for k, v in pairs(wrk.headers) do h[k] = v end
  if with_body then h["Content-Type"] = "application/fhir+json" end
  return h
end

local function patient(id, n)
  local id_part = id and ('"id":"' .. id .. '",') or ""
  return '{"resourceType":"Patient",' .. id_part .. '"active":true,' ..
    '"name":[{"use":"official","family":"Crudbench","given":["Run' .. n .. '"]}],' ..
    '"gender":"female","birthDate":"1970-01-01"}'
end

function request()
  counter = counter + 1
  local step = counter % 4
  local k = math.floor(counter / 4)
  if step == 1 then
    return wrk.format("POST", base, headers(true), patient(nil, counter))
  elseif step == 2 then
    return wrk.format("GET", base .. "/" .. pool .. "-" .. (k % pool_size), headers(false))
  elseif step == 3 then
    local id = pool .. "-" .. ((k + 37) % pool_size)
    return wrk.format("PUT", base .. "/" .. id, headers(true), patient(id, counter))
  end
  local id
  if head <= tail then
    id = created[head]
    created[head] = nil
    head = head + 1
  else
    id = "bench-never-" .. counter
  end
  return wrk.format("DELETE", base .. "/" .. id, headers(false))
end

function response(status, hdrs, body)
  if status ~= 201 then return end
  local loc = hdrs["location"] or hdrs["Location"]
  if not loc then return end
  local id = string.match(loc, "/Patient/([^/]+)/_history/")
  if id and string.sub(id, 1, #pool) ~= pool then
    tail = tail + 1
    created[tail] = id
  end
end
