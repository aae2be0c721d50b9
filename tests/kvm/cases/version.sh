#!/bin/sh
#@ desc: mvm runs inside L1 at all (its shared libraries made it into the initramfs)
#@ order: 10
#@ where: l1
#@ timeout: 30
#@ exit: 0
#@ expect: ^mvm [0-9]+\.[0-9]+\.[0-9]+$
"$MVM" --version
