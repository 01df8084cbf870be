-- harness.paginate: the sub-library loader finds this file when the core
-- does not define the name itself. The code lives in harness.paging.
return require("harness.paging").paginate
