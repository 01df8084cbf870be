---@meta harness
-- LuaLS annotations for the harness module: the core (requests, paging,
-- tasks, JSON, ...) and the types the library shares. The library modules
-- carry their own annotations (lua/harness/<module>.lua), harness.api its
-- generated ones (harness_api.lua). Never loaded at run time; point
-- lua-language-server's workspace.library at hlua's lua/ folder (see
-- README.md, "Sharing script libraries"). hlua --doc reads these same
-- comments.

---@class harness.Error
---@field kind "http"|"transport"|"timeout"|"json"|"paging"|string
---@field status? integer
---@field code? string
---@field message string
---@field correlation_id? string
---@field method? string
---@field url? string
---@field body? string
---@field headers? table<string, string>  the response's headers (credentials as ****)
---@field retries? integer

---@class harness.Response
---@field status integer
---@field headers table<string, string>
---@field body string
---@field ok boolean
---@field url string
---@field elapsed number
---@field json fun(self: harness.Response): any

---@class harness.RequestOpts
---@field query? table<string, any>
---@field headers? table<string, string>
---@field json? any
---@field body? string
---@field content_type? string
---@field timeout? number
---@field retries? integer
---@field account? boolean

---@class harness.PageOpts: harness.RequestOpts
---@field method? string          GET (default) or POST for list endpoints taking a filter body
---@field style? "ng"|"pipeline"|"cf"|"v1"
---@field page_size? integer      default 100
---@field max_items? integer
---@field items? string           feature-flag style: the field holding the items

---@class harness.Scope
---@field org? string|false       default: the configured org
---@field project? string|false   default: the configured project

---@class harness.Config
---@field endpoint string
---@field account string
---@field org? string
---@field project? string
---@field profile? string
---@field api_key string          masked
---@field sources table<string, string>

---@class harness
---@field orgs harness.orgs              lua/harness/orgs.lua
---@field projects harness.projects      lua/harness/projects.lua
---@field pipelines harness.pipelines    lua/harness/pipelines.lua
---@field tokens harness.tokens          lua/harness/tokens.lua
---@field apikeys harness.apikeys        lua/harness/apikeys.lua
---@field service_accounts harness.service_accounts
---@field secrets harness.secrets        lua/harness/secrets.lua
---@field connectors harness.connectors  lua/harness/connectors.lua
---@field feature_flags harness.feature_flags
---@field users harness.users            lua/harness/users.lua
---@field api harness.api                every operation (lua/types/harness_api.lua)
---@field yaml harness.yaml
---@field null lightuserdata            the JSON null (harness.json.null)
harness = {}

--- Sends a request and returns the response for any HTTP status (res.status,
--- res.headers, res.body, res.ok, res:json()), or nil and a harness.Error
--- when no answer came (DNS, connect, TLS, timeout, too large, Ctrl-C). A
--- path is appended to the endpoint and gets the account; an absolute URL
--- gets the key only on the endpoint's origin. Retries 429 and 502-504
--- (POST and PATCH only on 429) with backoff and Retry-After.
---@param method string
---@param path string             "/ng/api/projects" or an absolute URL
---@param opts? harness.RequestOpts
---@return harness.Response|nil res
---@return harness.Error|nil err
function harness.request(method, path, opts) end
--- GET a path: returns the decoded JSON body (the raw text when it is not
--- JSON, nil when empty) and raises a harness.Error for any failure.
---@param path string
---@param opts? harness.RequestOpts
---@return any
function harness.get(path, opts) end
--- POST (a body as opts.json, or opts.body with opts.content_type): as get.
---@param path string
---@param opts? harness.RequestOpts
---@return any
function harness.post(path, opts) end
--- PUT: as post.
---@param path string
---@param opts? harness.RequestOpts
---@return any
function harness.put(path, opts) end
--- PATCH: as post.
---@param path string
---@param opts? harness.RequestOpts
---@return any
function harness.patch(path, opts) end
--- DELETE: as get.
---@param path string
---@param opts? harness.RequestOpts
---@return any
function harness.delete(path, opts) end

--- Iterates over every item of a paged list, fetching pages as needed
--- (memory stays flat): NG, pipeline, feature-flag and v1 page styles,
--- picked by the answer (or opts.style). Also takes a harness.api
--- operation: harness.paginate(harness.api.Tag.Operation, params).
--- Returns a generic for's four values; the fourth closes the paging
--- (pages in flight cancelled) when a loop ends early.
---@param path string
---@param opts? harness.PageOpts
---@return fun(): any
function harness.paginate(path, opts) end
--- All items of an iterator in an array, each through fn when given:
--- harness.collect(harness.paginate(...)); or of a path and paginate's
--- options: harness.collect(path, opts).
---@param iter (fun(): any)|string
---@param fn? (fun(item: any): any)|harness.PageOpts
---@return any[]
function harness.collect(iter, fn) end

--- The resolved settings, the key masked (pat.<account>.<tokenId>.****):
--- endpoint, account, org, project, profile, api_key, and sources (where
--- each came from: option, env, profile, harness-cli, token, default).
---@return harness.Config
function harness.config() end
--- The user the key belongs to: the data of /ng/api/user/currentUser.
---@return {uuid: string, name: string, email: string, [string]: any}
function harness.whoami() end
--- An environment variable, or default when it is unset or empty.
---@param name string
---@param default? string
---@return string|nil
function harness.env(name, default) end
--- Is v a harness.Error that hlua made (not a look-alike table)?
---@param v any
---@return boolean
function harness.is_error(v) end
--- Prints each value on its own line as -p does: strings as they are,
--- tables as JSON with sorted keys (indented on a terminal).
---@param ... any
function harness.print(...) end
--- Writes a secret (a token, a key) to a file only its owner can read
--- (0600), atomically (a reader never sees half of it); refuses a
--- symbolic link or a non-file at path, and keeps an existing file's mode
--- when it is stricter. Raises a harness.Error of kind "io".
---@param path string
---@param value string
---@return true
function harness.write_secret(path, value) end
--- Prints the reference of a public name or value on stdout (as hlua
--- --doc does): harness.doc("harness.pipelines.run"), harness.doc(harness.tokens).
---@param what string|any
---@return boolean found
function harness.doc(what) end

---@class harness.Task
---@field wait fun(self: harness.Task): ...   its results, or raises its error
---@field cancel fun(self: harness.Task)      ends it where it waits
---@field done fun(self: harness.Task): boolean

--- Starts fn(...) in a new task (a coroutine): it runs when the caller next
--- waits; inside tasks every request and sleep lets the others run.
---@param fn function
---@return harness.Task
function harness.spawn(fn, ...) end
--- Runs the functions together; returns the first result of each, in
--- order. The first error is raised after the others end or are cancelled.
---@param fns function[]
---@return any[]
function harness.all(fns) end
--- fn(item, index) for every item, opts.concurrency at a time (default 8,
--- capped by HARNESS_MAX_IN_FLIGHT); returns the first result of each, in
--- order. A progress bar on stderr when it is a terminal (progress = false
--- turns it off).
---@param list any[]
---@param fn fun(item: any, i: integer): any
---@param opts? {concurrency?: integer, progress?: boolean}
---@return any[]
function harness.map(list, fn, opts) end
--- Waits that many seconds; other tasks run meanwhile.
---@param seconds number
function harness.sleep(seconds) end

---@class harness.json
---@field null lightuserdata   the JSON null (decode gives it, encode takes it)
harness.json = {}
--- Strict RFC 8259: every valid document is accepted, every invalid one
--- raises a json harness.Error with line and column. Integers stay exact;
--- [] and {} keep their type. omit_nulls leaves out members whose value
--- is null (as the verbs read API responses).
---@param s string
---@param opts? {max_depth?: integer, omit_nulls?: boolean}
---@return any
function harness.json.decode(s, opts) end
--- Encodes a Lua value; refuses what JSON cannot hold (NaN, functions,
--- cycles, mixed keys) naming the place ($.items[3].x).
---@param v any
---@param opts? {indent?: integer, sort_keys?: boolean, max_depth?: integer}
---@return string
function harness.json.encode(v, opts) end
--- Marks a table (a new one when nil) to encode as a JSON array.
---@generic T: table
---@param t? T
---@return T
function harness.json.array(t) end
--- Marks a table (a new one when nil) to encode as a JSON object.
---@generic T: table
---@param t? T
---@return T
function harness.json.object(t) end

-- ---------- harness.args ----------

---@class harness.ArgsSpec
---@field summary? string
---@field usage? string                 e.g. "[options] PIPELINE"
---@field options? {[1]: string, [2]: string, default?: any, number?: boolean, multiple?: boolean}[]  {"--org ID", "help"} or {"-q, --quiet", "help"}
---@field arguments? {[1]: string, [2]: string, optional?: boolean}[]
---@field exit_codes? {[1]: integer, [2]: string}[]
---@field epilog? string
---@field rest? boolean                 allow more positional arguments
---@field argv? string[]                default: the global arg
---@field permissions? string          Harness permissions the key needs, for --help

-- ---------- resources ----------

---@class harness.Project
---@field identifier string
---@field orgIdentifier string
---@field name string
---@field modules string[]

---@class harness.ExecutionSummary
---@field planExecutionId string
---@field pipelineIdentifier string
---@field status string             Running, Success, Failed, Aborted, ...
---@field runSequence integer
---@field startTs integer
---@field endTs? integer
---@field successfulStagesCount integer
---@field totalStagesCount integer

---@class harness.pipelines.ListOpts: harness.Scope
---@field search? string
---@field page_size? integer
---@field max_items? integer

---@class harness.pipelines.RunOpts: harness.Scope
---@field inputs? string   runtime-input YAML
---@field module? string
---@class harness.pipelines.WaitOpts: harness.Scope
---@field interval? number   seconds between polls (default 2)
---@field timeout? number    seconds (default 3600), then a harness.Error of kind "timeout"
---@field progress? boolean|fun(summary: harness.ExecutionSummary, elapsed: number)

---@class harness.Token
---@field identifier string
---@field name string
---@field apiKeyIdentifier string
---@field parentIdentifier string
---@field apiKeyType "USER"|"SERVICE_ACCOUNT"
---@field validTo integer
---@field expiryAt integer
---@field days_left? number   from expiring()

---@alias harness.KeyType "USER"|"SERVICE_ACCOUNT"
---@class harness.TokenWhere
---@field type? harness.KeyType
---@field parent? string     user uuid or service account identifier
---@field apikey? string

---@class harness.ExpiringOpts
---@field within_days? number  default 30
---@field expired? boolean     also those already expired
---@field type? harness.KeyType

---@class harness.FlagScope: harness.Scope
---@field environment? string

-- ---------- harness.yaml ----------

---YAML 1.2 (core schema) on libyaml, loaded on first use. Mappings keep
---their key order (pairs, keys and encode follow it); a null member is
---absent, a null item is harness.json.null; errors are harness.Error of
---kind "yaml" with line, column and offset (decode) or path (encode).
---@class harness.yaml
---@field null userdata   harness.json.null
harness.yaml = {}
---@param s string
---@param opts? {max_depth?: integer}
---@return any doc   nil for a text without documents
function harness.yaml.decode(s, opts) end
---@param s string
---@param opts? {max_depth?: integer}
---@return any[] docs
function harness.yaml.decode_all(s, opts) end
---Block style, 2-space indentation, key order kept, multi-line strings as
---literal blocks; refuses functions, cycles, sparse lists, bad UTF-8.
---@param v any
---@param opts? {max_depth?: integer}
---@return string
function harness.yaml.encode(v, opts) end
---Calls fn(doc, i) for each document of s; fn changes doc in place or
---returns a new value. Returns s with only those changes made: comments,
---blank lines, key order, quoting and block styles stay as they were.
---@param s string
---@param fn fun(doc: any, i: integer): any
---@param opts? {max_depth?: integer, rewrite?: boolean}
---@return string
function harness.yaml.edit(s, fn, opts) end
---The keys of mapping t in the order encode writes them.
---@param t table
---@return string[]
function harness.yaml.keys(t) end
---Marks t as a mapping that keeps key order; keys lists that order.
---@generic T: table
---@param t? T
---@param keys? string[]
---@return T
function harness.yaml.mapping(t, keys) end

return harness
