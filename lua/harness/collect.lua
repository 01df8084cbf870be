-- harness.collect: see harness.paginate; the code lives in harness.paging.
return require("harness.paging").collect
