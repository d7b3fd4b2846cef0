# The two commands a newcomer needs. Both install what is missing first (scripts/setup).
.PHONY: run test setup dist bench-mobile

## Build and serve Refloop on http://127.0.0.1:3000 (SQLite at data/refloop.db).
run:
	scripts/run

## Every check: formatting, clippy (server and WASM), Rust tests on SQLite and PostgreSQL, browser tests.
test:
	scripts/test

## One file to deploy: dist/refloop, the release server with the front end inside; prints its size.
dist:
	scripts/dist

## Only install the toolchain and tools.
setup:
	scripts/setup

## The referral pages on a throttled phone (Slow 4G, 4x CPU): prints when each form is usable.
bench-mobile:
	scripts/dist && cd end2end && REFLOOP_BENCH=1 npx playwright test
