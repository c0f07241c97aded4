-- A mix of API calls for wrk (benches/load.sh): area statistics, tables, the
-- hour x weekday matrix, a series, hotspots, layers, meta and a page of events,
-- as a viewer would ask them (analyst for events: the load runs with an
-- analyst key). Seeded, so every run asks the same sequence.
local paths = {
  "/api/v1/query/counts?period=2024&layer=stadsdel&source=crimes",
  "/api/v1/query/counts?period=2024-Q2&layer=stadsdelsomrade_2023",
  "/api/v1/query/counts?period=2024-06&layer=stadsdel&category=violence",
  "/api/v1/query/counts?period=2024-W20&layer=stadsdel",
  "/api/v1/query/table?from=2024-01-01&to=2024-12-31&window=month&layer=stadsdelsomrade_2023",
  "/api/v1/query/matrix?from=2024-01-01&to=2024-03-31&category=robbery",
  "/api/v1/query/trend?from=2024-01-01&to=2024-12-31&window=week&layer=stadsdel&area=Rinkeby",
  "/api/v1/query/hotspots?from=2024-03-01&to=2024-03-31&grid=500&category=robbery",
  "/api/v1/layers/stadsdelsomrade_2023?simplify=50",
  "/api/v1/meta",
  "/api/v1/events?from=2024-05-01&to=2024-05-02&limit=500&bbox=18.0,59.3,18.1,59.35",
}
math.randomseed(20241201)
request = function()
  local path = paths[math.random(#paths)]
  return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. os.getenv("TRYGG_LOAD_KEY") })
end
