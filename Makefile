# Thin aliases of ./dev, the single entry script (which needs nothing but Python 3.11).
.PHONY: demo test bench serve
demo test bench serve:
	./dev $@
