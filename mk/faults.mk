# make faults: only the fault campaign (tests/faults/*.bats) and its table;
# make check runs these suites too.
faults: deps
	@$(MAKE) --no-print-directory all unit
	@tests/run tests/faults/*.bats

.PHONY: faults
