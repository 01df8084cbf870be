error(setmetatable({}, {__tostring = function() return "custom error" end}))
