-- tests/bench/yaml_gen.lua: writes a large Harness-style pipeline (one CI
-- stage of N Run steps, ~800 bytes a step) for tests/bench/yaml_bench.lua.
--   dofile("tests/bench/yaml_gen.lua")(path, steps)
return function(path, steps)
  local out = {}
  local function add(s) out[#out + 1] = s end
  add([[
pipeline:
  name: Large Build
  identifier: large_build
  projectIdentifier: checkout
  orgIdentifier: default
  tags: {}
  properties:
    ci:
      codebase:
        connectorRef: account.github
        repoName: <+input>
        build: <+input>
  stages:
    - stage:
        name: Build
        identifier: build
        description: ""
        type: CI
        spec:
          cloneCodebase: true
          platform:
            os: Linux
            arch: Amd64
          runtime:
            type: Cloud
            spec: {}
          execution:
            steps:
]])
  for i = 1, steps do
    add(([[
              - step:
                  type: Run
                  name: Step %d
                  identifier: step_%d
                  spec:
                    connectorRef: account.dockerhub
                    image: golang:1.%d-alpine
                    shell: Sh
                    command: |
                      echo "building part %d of <+pipeline.name>"
                      go build -o bin/app_%d ./cmd/app
                    envVariables:
                      GOFLAGS: "-mod=vendor"
                      PART: "%d"
                      ENABLED: "on"
                  timeout: 10m
                  failureStrategies:
                    - onFailure:
                        errors:
                          - AllErrors
                        action:
                          type: Retry
]]):format(i, i, 18 + i % 4, i, i, i, i))
  end
  add([[
  variables:
    - name: run_all
      type: String
      value: <+input>.default(true).allowedValues(true,false)
]])
  local f = assert(io.open(path, "wb"))
  f:write(table.concat(out))
  f:close()
end
