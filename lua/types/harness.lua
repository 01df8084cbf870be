---@meta harness
-- LuaLS annotations for the harness module and its Harness library. Never
-- loaded at run time; point lua-language-server's workspace.library at
-- hlua's lua/ folder (see docs/sharing.md).

---@class harness.Error
---@field kind "http"|"transport"|"timeout"|"json"|"paging"|string
---@field status? integer
---@field code? string
---@field message string
---@field correlation_id? string
---@field method? string
---@field url? string
---@field body? string

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
harness = {}

---@param method string
---@param path string
---@param opts? harness.RequestOpts
---@return harness.Response|nil res
---@return harness.Error|nil err
function harness.request(method, path, opts) end
---@param path string
---@param opts? harness.RequestOpts
---@return any
function harness.get(path, opts) end
---@param path string
---@param opts? harness.RequestOpts
---@return any
function harness.post(path, opts) end
---@param path string
---@param opts? harness.RequestOpts
---@return any
function harness.put(path, opts) end
---@param path string
---@param opts? harness.RequestOpts
---@return any
function harness.patch(path, opts) end
---@param path string
---@param opts? harness.RequestOpts
---@return any
function harness.delete(path, opts) end

--- Iterates over every item of a paged list endpoint, a page at a time.
---@param path string
---@param opts? harness.PageOpts
---@return fun(): any
function harness.paginate(path, opts) end
--- All items of an iterator (or of harness.paginate(path, opts)) in an array.
---@param iter (fun(): any)|string
---@param opts? harness.PageOpts
---@return any[]
function harness.collect(iter, opts) end

---@return harness.Config
function harness.config() end
---@return {uuid: string, name: string, email: string, [string]: any}
function harness.whoami() end
---@param name string
---@param default? string
---@return string|nil
function harness.env(name, default) end
---@param v any
---@return boolean
function harness.is_error(v) end
---@param ... any
function harness.print(...) end

---@class harness.Task
---@field wait fun(self: harness.Task): ...

---@param fn function
---@return harness.Task
function harness.spawn(fn, ...) end
---@param fns function[]
---@return any[]
function harness.all(fns) end
---@param list any[]
---@param fn fun(item: any, i: integer): any
---@param opts? {concurrency?: integer, progress?: boolean}
---@return any[]
function harness.map(list, fn, opts) end
---@param seconds number
function harness.sleep(seconds) end

---@class harness.log
---@field debug fun(fmt: string, ...)
---@field info fun(fmt: string, ...)
---@field warn fun(fmt: string, ...)
---@field error fun(fmt: string, ...)
harness.log = {}

---@class harness.json
---@field null lightuserdata
harness.json = {}
---@param s string
---@return any
function harness.json.decode(s) end
---@param v any
---@param opts? {indent?: integer, sort_keys?: boolean}
---@return string
function harness.json.encode(v, opts) end
---@generic T: table
---@param t? T
---@return T
function harness.json.array(t) end
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

---@class harness.args
---@overload fun(spec: harness.ArgsSpec): table<string, any>
harness.args = {}
---@param spec harness.ArgsSpec
---@return table<string, any>
function harness.args.parse(spec) end
---@param spec harness.ArgsSpec
---@return string
function harness.args.help(spec) end

-- ---------- harness.fmt ----------

---@class harness.fmt
harness.fmt = {}
---@param rows table[]
---@param columns {[1]: string, [2]: string|fun(row: table): any}[]
---@return string
function harness.fmt.table(rows, columns) end
---@param seconds number
---@return string
function harness.fmt.duration(seconds) end
---@param ms integer
---@return string
function harness.fmt.date(ms) end

-- ---------- resources ----------

---@class harness.orgs
harness.orgs = {}
---@param opts? {search?: string, max_items?: integer}
---@return {identifier: string, name: string, description: string, tags: table}[]
function harness.orgs.list(opts) end
---@param id string
---@return {identifier: string, name: string, description: string, tags: table}
function harness.orgs.get(id) end

---@class harness.Project
---@field identifier string
---@field orgIdentifier string
---@field name string
---@field modules string[]

---@class harness.projects
harness.projects = {}
---@param opts? {org?: string, all?: boolean, search?: string, module?: string, max_items?: integer}
---@return harness.Project[]
function harness.projects.list(opts) end
---@param id string
---@param opts? {org?: string}
---@return harness.Project
function harness.projects.get(id, opts) end

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

---@class harness.pipelines
---@field FINISHED table<string, boolean>
---@field SUCCEEDED table<string, boolean>
harness.pipelines = {}
---@param opts? harness.pipelines.ListOpts
---@return {identifier: string, name: string, [string]: any}[]
function harness.pipelines.list(opts) end
---@param opts? harness.pipelines.ListOpts
---@return fun(): {identifier: string, name: string, [string]: any}
function harness.pipelines.each(opts) end
---@param id string
---@param opts? harness.Scope
---@return {yamlPipeline: string, yaml: string, [string]: any}
function harness.pipelines.get(id, opts) end
---@param id string
---@param opts? harness.Scope
---@return string yaml
function harness.pipelines.yaml(id, opts) end
---@param yaml string
---@param opts? harness.Scope
function harness.pipelines.create(yaml, opts) end
---@param id string
---@param yaml string
---@param opts? harness.Scope
function harness.pipelines.update(id, yaml, opts) end
---@param id string
---@param opts? harness.Scope
---@return true
function harness.pipelines.delete(id, opts) end
---@class harness.pipelines.RunOpts: harness.Scope
---@field inputs? string   runtime-input YAML
---@field module? string
---@param id string
---@param opts? harness.pipelines.RunOpts
---@return {uuid: string, status: string, [string]: any}
function harness.pipelines.run(id, opts) end
---@class harness.pipelines.WaitOpts: harness.Scope
---@field interval? number   seconds between polls (default 2)
---@field timeout? number    seconds (default 3600), then a harness.Error of kind "timeout"
---@field progress? boolean|fun(summary: harness.ExecutionSummary, elapsed: number)
---@param execution_id string
---@param opts? harness.pipelines.WaitOpts
---@return harness.ExecutionSummary
function harness.pipelines.wait(execution_id, opts) end
---@param execution_id string
---@param opts? harness.Scope
---@return harness.ExecutionSummary
function harness.pipelines.execution(execution_id, opts) end
---@param opts? {org?: string, project?: string, pipeline?: string, status?: string|string[], max_items?: integer}
---@return harness.ExecutionSummary[]
function harness.pipelines.executions(opts) end
---@param execution_id string
---@param opts? harness.Scope
function harness.pipelines.abort(execution_id, opts) end

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

---@class harness.tokens
harness.tokens = {}
---@param opts? harness.TokenWhere|{search?: string, max_items?: integer}
---@return harness.Token[]
function harness.tokens.list(opts) end
---@param id string
---@param opts? harness.TokenWhere
---@return harness.Token
function harness.tokens.get(id, opts) end
---@param t {identifier: string, apikey: string, name?: string, type?: harness.KeyType, parent?: string, valid_days?: number, valid_to?: integer, description?: string, tags?: table}
---@return string token
function harness.tokens.create(t) end
---@param id string
---@param opts? harness.TokenWhere|{at?: integer}
---@return string token   the new token
function harness.tokens.rotate(id, opts) end
---@param id string
---@param opts? harness.TokenWhere
---@return true
function harness.tokens.delete(id, opts) end
---@param opts? harness.ExpiringOpts
---@return harness.Token[]
function harness.tokens.expiring(opts) end

---@class harness.apikeys
harness.apikeys = {}
---@param opts? {type?: harness.KeyType, parent?: string}
---@return {identifier: string, name: string, apiKeyType: string, parentIdentifier: string}[]
function harness.apikeys.list(opts) end
---@param k {identifier: string, name?: string, type?: harness.KeyType, parent?: string, token_days?: number, description?: string, tags?: table}
function harness.apikeys.create(k) end
---@param id string
---@param opts? {type?: harness.KeyType, parent?: string}
---@return true
function harness.apikeys.delete(id, opts) end
---@param id string
---@param opts? {type?: harness.KeyType, parent?: string}
---@return harness.Token[]
function harness.apikeys.tokens(id, opts) end
---@param id string
---@param opts? harness.TokenWhere|{at?: integer}
---@return string token
function harness.apikeys.rotate(id, opts) end
---@param opts? harness.ExpiringOpts
---@return harness.Token[]
function harness.apikeys.expiring(opts) end

---@class harness.service_accounts
harness.service_accounts = {}
---@return {identifier: string, name: string, email: string}[]
function harness.service_accounts.list() end
---@param id string
---@return {identifier: string, name: string, email: string, tokensCount: integer}
function harness.service_accounts.get(id) end
---@param a {identifier: string, name?: string, email?: string, description?: string, tags?: table}
function harness.service_accounts.create(a) end
---@param id string
---@return true
function harness.service_accounts.delete(id) end

---@class harness.secrets
harness.secrets = {}
---@param opts? harness.Scope|{type?: string, search?: string, max_items?: integer}
---@return {identifier: string, name: string, type: string}[]
function harness.secrets.list(opts) end
---@param id string
---@param opts? harness.Scope
---@return {identifier: string, name: string, type: string}
function harness.secrets.get(id, opts) end
---@param s {identifier: string, value: string, name?: string, description?: string, tags?: table, secret_manager?: string, org?: string|false, project?: string|false}
function harness.secrets.create(s) end
---@param id string
---@param opts? harness.Scope
---@return true
function harness.secrets.delete(id, opts) end

---@class harness.connectors
harness.connectors = {}
---@param opts? harness.Scope|{type?: string|string[], search?: string, max_items?: integer}
---@return {identifier: string, name: string, type: string, connectivity?: table}[]
function harness.connectors.list(opts) end
---@param id string
---@param opts? harness.Scope
function harness.connectors.get(id, opts) end

---@class harness.FlagScope: harness.Scope
---@field environment? string

---@class harness.feature_flags
harness.feature_flags = {}
---@param opts? harness.FlagScope|{search?: string, max_items?: integer}
---@return {identifier: string, name: string, kind: string, envProperties?: {state: "on"|"off"}}[]
function harness.feature_flags.list(opts) end
---@param id string
---@param opts? harness.FlagScope
function harness.feature_flags.get(id, opts) end
---@param id string
---@param opts harness.FlagScope   environment required
---@return "on"|"off"
function harness.feature_flags.state(id, opts) end
---@param id string
---@param state boolean|"on"|"off"
---@param opts harness.FlagScope   environment required
function harness.feature_flags.toggle(id, state, opts) end

---@class harness.users
harness.users = {}
---@param opts? {search?: string, max_items?: integer}
---@return {uuid: string, name: string, email: string}[]
function harness.users.list(opts) end
function harness.users.current() end
---@param email string
---@return {uuid: string, name: string, email: string}|nil
function harness.users.find(email) end

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
---@param opts? {max_depth?: integer}
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
