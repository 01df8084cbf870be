-- harness.yaml: YAML 1.2 read, written and edited in place.
--
-- decode, decode_all and encode are C (src/yaml.c, the module hlua_yaml,
-- loaded on first use of harness.yaml). edit is here: it decodes the text,
-- lets a function change the document, then compares what came back with
-- the original tree of nodes (each with its byte range, from the parser's
-- events) and splices the smallest textual changes into the original text.
-- Whatever the function did not change keeps its bytes: comments, blank
-- lines, quoting, block styles, anchors. The result is decoded again and
-- compared with what the function made; a document whose splice would not
-- read back the same (rare: anchors shared in odd ways) is written whole.

local json = require "harness.json" -- the null sentinel and the marks live there
local C = require "hlua_yaml"
local check = require "harness.check"

local null = json.null
local rawget, rawlen, type, next = rawget, rawlen, type, next
local concat = table.concat

local M = {
  decode = C.decode,
  decode_all = C.decode_all,
  encode = C.encode,
  keys = C.keys,
  mapping = C.mapping,
  null = null,
}

local MAP_MT = getmetatable(C.mapping())
local SEQ_MT = getmetatable(json.array())

-- "map" or "seq": what encode makes of table t (its mark, else its keys;
-- an empty table without a mark is a mapping).
local function kind(t)
  local mt = getmetatable(t)
  if mt == MAP_MT then return "map" end
  if mt == SEQ_MT then return "seq" end
  if type(mt) == "table" then
    local jt = rawget(mt, "__jsontype")
    if jt == "array" then return "seq" elseif jt == "object" then return "map" end
  end
  local k = next(t)
  if k == nil or type(k) == "string" then return "map" end
  return "seq"
end

-- Is key k in the recorded order of mapping t (a null member still there)?
local function in_order(t, k)
  local order = C._order(t)
  if not order then return false end
  for i = 1, #order do if order[i] == k then return true end end
  return false
end

-- Do a (an original value) and b (what the function left) mean the same
-- document? Numbers compare with their kind (1 is not 1.0), NaN equals
-- NaN, nil equals null, and a null member must still be in b's order.
local function same(a, b)
  if a == nil then return b == nil or b == null end
  if b == nil then return a == null end
  local ta, tb = type(a), type(b)
  if ta ~= tb then return false end
  if ta == "number" then
    if math.type(a) ~= math.type(b) then return false end
    return a == b or (a ~= a and b ~= b)
  end
  if a == b then return true end
  if ta ~= "table" then return false end
  local ka = kind(a)
  if ka ~= kind(b) then return false end
  if ka == "seq" then
    local n = rawlen(a)
    if rawlen(b) ~= n then return false end
    for i = 1, n do
      if not same(rawget(a, i), rawget(b, i)) then return false end
    end
    return true
  end
  for k, v in next, a do
    if not same(v, rawget(b, k)) then return false end
  end
  for k in next, b do
    if rawget(a, k) == nil then return false end
  end
  local order = C._order(a)
  if order then
    for i = 1, #order do
      local k = order[i]
      if rawget(a, k) == nil and not in_order(b, k) then return false end
    end
  end
  return true
end

-- {==================================================================
-- The tree of nodes, from the parser's events
-- ===================================================================

-- Builds the documents of the event list: each {root = node, ...}; a node
-- is {kind = "scalar"|"map"|"seq"|"alias", s, e (byte range [s, e)),
-- style, anchor, tag, pairs = {{key, value, k (the key's string)}} or
-- items = {...}}; 'has_alias' marks nodes with an alias or merge below.
local function build(events)
  local i = 2   -- after the stream start
  local anchors = {}
  local node
  function node()
    local ev = events[i]
    i = i + 1
    local t = ev.type
    if t == "scalar" then
      local n = {kind = "scalar", s = ev.s, e = ev.e, style = ev.style,
                 anchor = ev.anchor, tag = ev.tag, raw = ev.raw}
      if ev.anchor then anchors[ev.anchor] = n end
      return n
    elseif t == "alias" then
      return {kind = "alias", s = ev.s, e = ev.e, alias = ev.alias,
              has_alias = true, target = anchors[ev.alias]}
    end
    local n = {kind = t, s = ev.s, style = ev.style, anchor = ev.anchor, tag = ev.tag}
    if t == "seq" then
      local items = {}
      while events[i].type ~= "seqend" do
        local item = node()
        items[#items + 1] = item
        if item.has_alias then n.has_alias = true end
      end
      n.items = items
    else
      local pairs_ = {}
      while events[i].type ~= "mapend" do
        local key = node()
        local value = node()
        local k
        if key.kind == "scalar" then k = key.raw
        elseif key.kind == "alias" and key.target and key.target.kind == "scalar" then
          k = key.target.raw
        end
        local merge = key.kind == "scalar" and key.raw == "<<" and key.style == "plain"
          and (key.tag == nil or key.tag == "tag:yaml.org,2002:merge")
        pairs_[#pairs_ + 1] = {key = key, value = value, k = k, merge = merge}
        if value.has_alias or merge then n.has_alias = true end
      end
      n.pairs = pairs_
    end
    n.close = events[i]
    i = i + 1
    if n.anchor then anchors[n.anchor] = n end
    return n
  end
  local docs = {}
  while events[i].type == "doc" do
    i = i + 1
    local d = {root = node()}
    i = i + 1
    docs[#docs + 1] = d
  end
  return docs
end

-- Hangs on each node the value decode gave for it ('orig').
local function attach(n, v)
  n.orig = v
  if n.kind == "map" and type(v) == "table" then
    for _, p in ipairs(n.pairs) do
      if not p.merge and p.k ~= nil then attach(p.value, rawget(v, p.k)) end
    end
  elseif n.kind == "seq" and type(v) == "table" then
    for j, item in ipairs(n.items) do attach(item, rawget(v, j)) end
  end
end

-- }==================================================================


-- {==================================================================
-- Rendering new values where the text needs them
-- ===================================================================

local function pad(n) return string.rep(" ", n) end

-- Indents every line but the first of text by n spaces (empty lines stay
-- empty, so no trailing spaces appear).
local function indent_rest(text, n)
  if n == 0 then return text end
  return (text:gsub("\n([^\n])", "\n" .. pad(n) .. "%1"))
end

-- encode(v) without its final line break.
local function block(v)
  local s = C.encode(v)
  return s:sub(1, -2)
end

-- v after "key:" whose key is at column kc: " scalar", " {}", or a block
-- on the next lines 2 deeper (sequences too, as Harness writes them).
local function value_text(v, kc)
  if type(v) ~= "table" then return " " .. C.scalar(v, "plain", kc + 2) end
  local b = block(v)
  if b == "{}" or b == "[]" then return " " .. b end
  return "\n" .. pad(kc + 2) .. indent_rest(b, kc + 2)
end

-- v after "- " whose dash is at column dc.
local function item_text(v, dc)
  if type(v) ~= "table" then return C.scalar(v, "plain", dc + 2) end
  return indent_rest(block(v), dc + 2)
end

-- A scalar inside a flow collection: quoted when it holds a flow indicator.
local function flow_scalar(v)
  if type(v) == "string" and v:find("[,%[%]{}]") then return C.scalar(v, "double") end
  local s = C.scalar(v, "plain")
  if s:find("\n") then return C.scalar(v, "double") end
  return s
end

-- v in flow style ({a: 1, b: [x, y]}), for changes inside flow collections.
local function flow_text(v)
  if type(v) ~= "table" then return flow_scalar(v) end
  local parts = {}
  if kind(v) == "seq" then
    for i = 1, rawlen(v) do parts[i] = flow_text(rawget(v, i)) end
    return "[" .. concat(parts, ", ") .. "]"
  end
  for i, k in ipairs(C.keys(v)) do
    parts[i] = flow_scalar(k) .. ": " .. flow_text(rawget(v, k))
  end
  return "{" .. concat(parts, ", ") .. "}"
end

-- }==================================================================


-- {==================================================================
-- The diff: from nodes and new values to splices of the text
-- ===================================================================

-- One edit session over the text src: the splices found so far and the
-- anchors whose node changed (an alias to them can no longer stay '*a').
local function session(src)
  local S = {edits = {}, changed = {}}

  local function splice(s, e, text)
    S.edits[#S.edits + 1] = {s = s, e = e, text = text, n = #S.edits + 1}
  end

  local function line_start(p)
    while p > 1 and src:byte(p - 1) ~= 10 do p = p - 1 end
    return p
  end

  -- Where the line after the one holding p starts (past its line break).
  local function next_line(p)
    local nl = src:find("\n", p, true)
    return nl and nl + 1 or #src + 1
  end

  local function col(p) return p - line_start(p) end

  -- Moves line start p up over the comment lines right above it (they
  -- belong to the line at p: what goes before it goes before them).
  local function above_comments(p)
    while p > 1 do
      local prev = line_start(p - 1)
      if not src:sub(prev, p - 2):find("^ *#") then break end
      p = prev
    end
    return p
  end

  local function first_on_line(p)
    return not src:sub(line_start(p), p - 1):find("[^ ]")
  end

  -- Where the value proper starts, past the anchor and tag before it.
  local function value_start(n)
    local p = n.s
    while true do
      local c = src:sub(p, p)
      if c ~= "&" and c ~= "!" then return p end
      local q = src:find("[ \t\r\n]", p)
      if not q or q >= n.e then return p end
      p = src:find("[^ \t\r\n]", q) or q
    end
  end

  -- Is n a block scalar with the keep indicator (|+, >+, |2+...)?
  local function keeps(n)
    return (n.style == "literal" or n.style == "folded")
      and src:match("^[|>][0-9]*%+", value_start(n)) ~= nil
  end

  -- Where the node's content ends: a block scalar without the blank lines
  -- after it, a block collection at the end of its last child (libyaml's
  -- end marks run on to the next token, past comments).
  local function cend(n)
    if n.kind == "scalar" then
      if n.style == "literal" or n.style == "folded" then
        local body = src:sub(n.s, n.e - 1)
        if keeps(n) then   -- |+ : its blank lines are part of it
          local last = body:match(".*()\n")
          if last then return n.s + last end
        end
        local k = body:find("%s*$")
        return n.s + k - 1
      end
      return n.e
    elseif n.kind == "alias" then
      return n.e
    elseif n.style == "flow" then
      return n.close.e
    elseif n.kind == "map" then
      return cend(n.pairs[#n.pairs].value)
    end
    return cend(n.items[#n.items])
  end

  -- Past the line where node n ends (its last line break included).
  local function after(n)
    local e = cend(n)
    return next_line(e > 1 and e - 1 or 1)
  end

  -- The position of the ':' after a mapping key.
  local function colon_after(key)
    return src:find(":", key.e, true)
  end

  -- The '-' before a block sequence item, or nil.
  local function dash_of(item)
    local p = item.s - 1
    while p >= 1 do
      local c = src:byte(p)
      if c == 45 then return p end   -- '-'
      if c ~= 32 and c ~= 10 and c ~= 13 and c ~= 9 then return nil end
      p = p - 1
    end
    return nil
  end

  -- Where pair p starts: its '?' for an explicit key, else its key.
  local function pair_start(p)
    local q = p.key.s - 1
    while q >= 1 and src:byte(q) == 32 do q = q - 1 end
    if q >= 1 and src:byte(q) == 63 then return q end   -- '?'
    return p.key.s
  end

  -- The keys the '<<' members of mapping node n bring in.
  local function merge_keys(n, set, depth)
    set = set or {}
    depth = depth or 0
    if depth > 50 then return set end
    for _, p in ipairs(n.pairs or {}) do
      if p.merge then
        local srcs = p.value.kind == "seq" and p.value.items or {p.value}
        for _, m in ipairs(srcs) do
          if m.kind == "alias" then m = m.target end
          if m and m.kind == "map" then
            for _, q in ipairs(m.pairs) do if q.k then set[q.k] = true end end
            merge_keys(m, set, depth + 1)
          end
        end
      end
    end
    return set
  end

  -- Marks every anchor in n's subtree as changed.
  local function mark_anchors(n)
    if n.anchor then S.changed[n.anchor] = true end
    if n.pairs then
      for _, p in ipairs(n.pairs) do mark_anchors(p.key); mark_anchors(p.value) end
    elseif n.items then
      for _, item in ipairs(n.items) do mark_anchors(item) end
    end
  end

  -- The indentation of a block scalar's lines (for a changed literal).
  local function block_indent(n, pos)
    local body = src:sub(n.s, cend(n) - 1)
    local ind = body:match("\n( *)[^ \n]")
    return ind and #ind or pos.indent + 2
  end

  local diff

  -- Replaces node n (at pos) by v written whole.
  local function replace(n, v, pos)
    mark_anchors(n)
    local anchor = n.anchor and ("&" .. n.anchor) or nil
    local e = cend(n)
    if keeps(n) then e = e - 1 end   -- leave the line break where it was
    if pos.flow then
      splice(n.s, e, (anchor and anchor .. " " or "") .. flow_text(v))
    elseif n.style == "flow" and type(v) == "table" and pos.type ~= "root"
           and #(n.pairs or n.items) > 0 then
      -- A flow collection stays one: [a, b] grows to [a, b, c]; but {}
      -- and [] are only flow because they are empty.
      local s = n.s
      local before = src:sub(s - 1, s - 1)
      local text = (anchor and anchor .. " " or "") .. flow_text(v)
      if before == ":" or before == "-" then text = " " .. text end
      splice(s, e, text)
    elseif pos.type == "value" then
      local colon = colon_after(pos.pair.key)
      local text = value_text(v, pos.indent)
      if anchor then
        text = " " .. anchor .. text
      end
      splice(colon + 1, math.max(e, colon + 1), text)
    elseif pos.type == "item" then
      local text = item_text(v, pos.indent)
      if anchor then
        if type(v) == "table" and text ~= "{}" and text ~= "[]" then
          text = anchor .. "\n" .. pad(pos.indent + 2) .. text
        else
          text = anchor .. " " .. text
        end
      end
      splice(n.s, e, text)
    else   -- the root
      local text = block(v)
      if n.s > 1 and src:byte(n.s - 1) ~= 10 and type(v) == "table"
         and text ~= "{}" and text ~= "[]" then
        text = "\n" .. text
      end
      splice(n.s, e, text)
    end
  end

  -- A changed scalar, rewritten in place in the style it had.
  local function rescalar(n, v, pos)
    if n.anchor then S.changed[n.anchor] = true end
    local s = n.tag and n.s or value_start(n)
    local prefix = ""
    if n.tag and n.anchor then prefix = "&" .. n.anchor .. " " end
    local text
    if pos.flow then text = flow_scalar(v)
    elseif type(v) ~= "string" then text = C.scalar(v, "plain")
    else
      local style = n.style
      local indent = (style == "literal" or style == "folded") and block_indent(n, pos)
        or pos.indent + 2
      text = C.scalar(v, style, indent)
    end
    local before = s > 1 and src:sub(s - 1, s - 1) or "\n"
    if prefix == "" and (before == ":" or before == "-") then prefix = " " end
    if keeps(n) then text = text .. "\n" end   -- its range ends past a line break
    splice(s, math.max(cend(n), s), prefix .. text)
  end

  -- Key k (string) and value v written as lines at column kc.
  local function pair_lines(k, v, kc)
    local t = C.mapping({[k] = v}, {k})
    return pad(kc) .. indent_rest(block(t), kc) .. "\n"
  end

  -- Inserts text (whole lines) at position p.
  local function insert_lines(p, text)
    if p > #src and #src > 0 and src:byte(#src) ~= 10 then
      text = "\n" .. text:sub(1, -2)
    end
    splice(p, p, text)
  end

  local function diff_map(n, v, pos)
    if n.style == "flow" then
      -- In place only when the keys are the same: else the whole {...}.
      local keys = C.keys(v)
      for _, p in ipairs(n.pairs) do
        if p.merge or p.k == nil then return replace(n, v, pos) end
        if rawget(v, p.k) == nil and not (p.value.orig == nil and in_order(v, p.k)) then
          return replace(n, v, pos)
        end
      end
      for _, k in ipairs(keys) do
        local found = false
        for _, p in ipairs(n.pairs) do if p.k == k then found = true break end end
        if not found then return replace(n, v, pos) end
      end
      for _, p in ipairs(n.pairs) do
        local cv = rawget(v, p.k)
        if cv ~= nil then diff(p.value, cv, {type = "value", pair = p, flow = true, indent = pos.indent}) end
      end
      return
    end
    local own, survivors, deleted = {}, {}, {}
    for _, p in ipairs(n.pairs) do
      if p.k == nil then return replace(n, v, pos) end   -- a complex key
      if p.merge then
        local src_ = p.value
        if (src_.kind == "alias" and S.changed[src_.alias]) then return replace(n, v, pos) end
        if src_.kind == "seq" then
          for _, it in ipairs(src_.items) do
            if it.kind == "alias" and S.changed[it.alias] then return replace(n, v, pos) end
          end
        end
      else
        own[p.k] = p
      end
    end
    -- Merged members: a change becomes an explicit key; a deletion cannot
    -- be said with the merge kept.
    local orig = n.orig
    local merged = {}
    if type(orig) == "table" then
      for _, k in ipairs(C._order(orig) or {}) do
        if not own[k] then
          local ov, cv = rawget(orig, k), rawget(v, k)
          if cv == nil and not (ov == nil and in_order(v, k)) then return replace(n, v, pos) end
          if same(ov, cv) then merged[k] = true end
        end
      end
    end
    for _, p in ipairs(n.pairs) do
      if p.merge then
        survivors[#survivors + 1] = p
      else
        local cv = rawget(v, p.k)
        if cv == nil and not (p.value.orig == nil and in_order(v, p.k)) then
          -- Deleting it would show the merged value under it.
          if merge_keys(n)[p.k] then return replace(n, v, pos) end
          deleted[p] = true
        else
          survivors[#survivors + 1] = p
        end
      end
    end
    local added = {}
    for _, k in ipairs(C.keys(v)) do
      if not own[k] and not merged[k] then added[#added + 1] = k end
    end
    if #survivors == 0 then return replace(n, v, pos) end
    local kc = col(pair_start(n.pairs[1]))
    -- Deletions: whole lines; a first member after "- " up to the next one.
    local i = 1
    while i <= #n.pairs do
      local p = n.pairs[i]
      if deleted[p] then
        mark_anchors(p.key)
        mark_anchors(p.value)
        if first_on_line(pair_start(p)) then
          splice(line_start(pair_start(p)), after(p.value), "")
          i = i + 1
        else
          local j = i + 1
          while j <= #n.pairs and deleted[n.pairs[j]] do
            mark_anchors(n.pairs[j].value)
            j = j + 1
          end
          local q = n.pairs[j]
          if not q then return replace(n, v, pos) end
          -- the deleted pairs run from p's key to q's: q's key takes p's place
          splice(p.key.s, q.key.s, "")
          i = j
        end
      else
        i = i + 1
      end
    end
    -- Changes of the members that stay.
    for _, p in ipairs(n.pairs) do
      if not p.merge and not deleted[p] then
        local cv = rawget(v, p.k)
        if cv ~= nil or p.value.has_alias then
          diff(p.value, cv, {type = "value", pair = p, indent = col(pair_start(p))})
        end
      end
    end
    -- Additions: after the member that precedes them in v's order.
    if #added > 0 then
      local order = C.keys(v)
      local at_of = {}
      local prev = nil
      for _, k in ipairs(order) do
        local p = own[k]
        if p and not deleted[p] then prev = p
        elseif not own[k] and not merged[k] then at_of[k] = prev or false end
      end
      local groups, seq = {}, {}
      for _, k in ipairs(added) do
        local p = at_of[k]
        local where
        if p then where = after(p.value)
        else
          -- Before the first member, unless members before it were
          -- deleted (their splice reaches up to it): then after it.
          local first = survivors[1]
          if first == n.pairs[1] and first_on_line(pair_start(first)) then
            where = above_comments(line_start(pair_start(first)))
          else where = after(first.value) end
        end
        if not groups[where] then groups[where] = {}; seq[#seq + 1] = where end
        local g = groups[where]
        g[#g + 1] = pair_lines(k, rawget(v, k), kc)
      end
      for _, where in ipairs(seq) do insert_lines(where, concat(groups[where])) end
    end
  end

  -- Pairs the items of the original sequence a (nodes) with those of b
  -- (values): common ends first, then a longest common subsequence of
  -- unchanged items in the middle (when small enough), and what is left
  -- between two matches paired in order. Returns a list of {i, j}.
  local function align(a, b)
    local n, m = #a, #b
    local lo = 1
    while lo <= n and lo <= m and same(a[lo].orig, rawget(b, lo)) do lo = lo + 1 end
    local hn, hm = n, m
    while hn >= lo and hm >= lo and same(a[hn].orig, rawget(b, hm)) do hn = hn - 1; hm = hm - 1 end
    local ops = {}
    for k = 1, lo - 1 do ops[#ops + 1] = {k, k} end
    local matches = {}
    local rn, rm = hn - lo + 1, hm - lo + 1
    if rn > 0 and rm > 0 and rn * rm <= 250000 then
      -- LCS table over the middle, by rows of lengths.
      local L = {}
      for x = rn + 1, 1, -1 do
        L[x] = {}
        for y = rm + 1, 1, -1 do
          if x > rn or y > rm then L[x][y] = 0
          elseif same(a[lo + x - 1].orig, rawget(b, lo + y - 1)) then L[x][y] = L[x + 1][y + 1] + 1
          else
            local p, q = L[x + 1][y], L[x][y + 1]
            L[x][y] = p >= q and p or q
          end
        end
      end
      local x, y = 1, 1
      while x <= rn and y <= rm do
        if same(a[lo + x - 1].orig, rawget(b, lo + y - 1)) then
          matches[#matches + 1] = {lo + x - 1, lo + y - 1}
          x = x + 1; y = y + 1
        elseif L[x + 1][y] >= L[x][y + 1] then x = x + 1
        else y = y + 1 end
      end
    end
    matches[#matches + 1] = {hn + 1, hm + 1}   -- the common tail starts here
    local i, j = lo, lo
    for _, mt in ipairs(matches) do
      local mi, mj = mt[1], mt[2]
      while i < mi and j < mj do ops[#ops + 1] = {i, j}; i = i + 1; j = j + 1 end
      while i < mi do ops[#ops + 1] = {i, nil}; i = i + 1 end
      while j < mj do ops[#ops + 1] = {nil, j}; j = j + 1 end
      if mi <= n and mj <= m then ops[#ops + 1] = {mi, mj} end
      i, j = mi + 1, mj + 1
    end
    for k = 1, n - hn do ops[#ops + 1] = {hn + k, hm + k} end
    -- The tail pairs were added by the loop above when matched; drop doubles.
    local seen, out = {}, {}
    for _, op in ipairs(ops) do
      local key = tostring(op[1]) .. ":" .. tostring(op[2])
      if not seen[key] then seen[key] = true; out[#out + 1] = op end
    end
    return out
  end

  local function diff_seq(n, v, pos)
    local items = n.items
    if n.style == "flow" then
      if rawlen(v) ~= #items then return replace(n, v, pos) end
      for j, item in ipairs(items) do
        diff(item, rawget(v, j), {type = "item", flow = true, indent = pos.indent})
      end
      return
    end
    local ops = align(items, v)
    local survivors = 0
    for _, op in ipairs(ops) do
      if op[1] and op[2] then survivors = survivors + 1 end
    end
    if survivors == 0 then return replace(n, v, pos) end
    local dash1 = dash_of(items[1])
    if not dash1 then return replace(n, v, pos) end
    local dc = col(dash1)
    local last_i = nil
    local pending = {}    -- items to insert before the next original one
    local function flush(where)
      if #pending == 0 then return end
      insert_lines(where, concat(pending))
      pending = {}
    end
    for _, op in ipairs(ops) do
      local i, j = op[1], op[2]
      if i and j then
        if #pending > 0 then
          if last_i then flush(after(items[last_i]))
          else
            local d = dash_of(items[i])
            if not d or not first_on_line(d) then return replace(n, v, pos) end
            flush(above_comments(line_start(d)))
          end
        end
        diff(items[i], rawget(v, j), {type = "item", indent = dc})
        last_i = i
      elseif i then
        local d = dash_of(items[i])
        if not d or not first_on_line(d) then return replace(n, v, pos) end
        mark_anchors(items[i])
        if #pending > 0 then
          if last_i then flush(after(items[last_i])) else flush(above_comments(line_start(d))) end
        end
        splice(line_start(d), after(items[i]), "")
        last_i = i
      else
        pending[#pending + 1] = pad(dc) .. "- " .. item_text(rawget(v, j), dc) .. "\n"
      end
    end
    if #pending > 0 then flush(after(items[last_i or #items])) end
  end

  -- Compares node n (original) with value v (what the function left) at
  -- pos ({type = "root"|"value"|"item", indent, pair, flow}) and splices.
  function diff(n, v, pos)
    if n.kind == "alias" then
      if S.changed[n.alias] or not same(n.orig, v) then
        if v == nil then v = null end
        replace(n, v, pos)
      end
      return
    end
    if same(n.orig, v) and not n.has_alias then return end
    if v == nil then v = null end
    if type(v) ~= "table" then
      if n.kind == "scalar" then
        if not same(n.orig, v) then rescalar(n, v, pos) end
        return
      end
      return replace(n, v, pos)
    end
    local k = kind(v)
    if n.kind == "map" and k == "map" then
      if n.anchor and not same(n.orig, v) then S.changed[n.anchor] = true end
      return diff_map(n, v, pos)
    elseif n.kind == "seq" and k == "seq" then
      if n.anchor and not same(n.orig, v) then S.changed[n.anchor] = true end
      return diff_seq(n, v, pos)
    end
    return replace(n, v, pos)
  end

  S.diff = diff
  S.replace = replace

  -- The text with the splices made; nil when two of them overlap.
  function S.apply()
    local edits = S.edits
    table.sort(edits, function(a, b)
      if a.s ~= b.s then return a.s < b.s end
      if (a.s == a.e) ~= (b.s == b.e) then return a.s == a.e end   -- inserts first
      return a.n < b.n
    end)
    local out, p = {}, 1
    for _, ed in ipairs(edits) do
      if ed.s < p then return nil end
      out[#out + 1] = src:sub(p, ed.s - 1)
      out[#out + 1] = ed.text
      p = ed.e
    end
    out[#out + 1] = src:sub(p)
    return concat(out)
  end

  return S
end

-- }==================================================================


--- edit(s, fn) -> string: the text s with the changes fn made to its
--- document(s). fn(doc, i) is called for each document of s (once with nil
--- for a text without documents) and changes doc in place or returns a
--- new value for the whole document. What fn does not change keeps its
--- bytes: comments, blank lines, key order, quoting, block styles.
--- In the rare case a change cannot be spliced in (anchors shared in odd
--- ways), the document is written whole, or, with opts.rewrite == false,
--- an error is raised instead.
function M.edit(s, fn, opts)
  if type(s) ~= "string" then check.argerror("yaml.edit", 1, "string expected, " .. check.got(s)) end
  check.callable("yaml.edit", 2, fn)
  local docs = C.decode_all(s, opts)
  local orig = C.decode_all(s, opts)
  if #docs == 0 then
    local r = fn(nil, 1)
    if r == nil then return s end
    local text = C.encode(r)
    if #s > 0 and s:sub(-1) ~= "\n" then s = s .. "\n" end
    return s .. text
  end
  for i = 1, #docs do
    local r = fn(docs[i], i)
    if r ~= nil then docs[i] = r end
    C.encode(docs[i])   -- refuses what YAML cannot hold, naming the path
  end
  local unchanged = true
  for i = 1, #docs do
    if not same(orig[i], docs[i]) then unchanged = false break end
  end
  if unchanged then return s end
  local trees = build(C.events(s))
  local whole = {}   -- documents to write whole (when splicing fails)
  for _ = 1, 2 do
    local S = session(s)
    for i, d in ipairs(trees) do
      attach(d.root, orig[i])
      if whole[i] then
        S.replace(d.root, docs[i], {type = "root", indent = 0})
      else
        S.diff(d.root, docs[i], {type = "root", indent = 0})
      end
    end
    local out = S.apply()
    if out then
      local ok, back = pcall(C.decode_all, out, opts)
      local good = ok and #back == #docs
      if good then
        for i = 1, #docs do
          if not same(back[i], docs[i]) then whole[i] = true; good = false end
        end
      else
        for i = 1, #docs do whole[i] = true end
      end
      if good then return out end
    else
      for i = 1, #docs do whole[i] = true end
    end
  end
  -- Last resort: every document written whole.
  if opts and opts.rewrite == false then
    C._raise("yaml: edit cannot keep the layout of the document (rewrite = false)")
  end
  local parts = {}
  for i = 1, #docs do parts[i] = C.encode(docs[i]) end
  return concat(parts, "---\n")
end

return M
