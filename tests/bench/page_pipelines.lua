-- Pages through every pipeline of the sandbox's big project (10,000), 100 a
-- page, and prints how many it saw: the hlua side of paging.sh and
-- paging_latency.sh.
local n = 0
for _ in harness.paginate("/pipeline/api/pipelines/list", {method = "POST",
    query = {orgIdentifier = "default", projectIdentifier = "big"},
    json = {filterType = "PipelineSetup"}, page_size = 100}) do
  n = n + 1
end
print(n)
