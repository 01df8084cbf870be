#!/usr/bin/env hlua
print("shebang ok")
