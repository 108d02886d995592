# rollcall in a small runtime image, run as a non-root user.
#   docker build -t rollcall .
#   docker run --rm -v "$PWD/pipelines:/pipelines:ro" -v rollcall-state:/var/lib/rollcall \
#     -e JML_BUCKET -e AWS_REGION -e AWS_ACCESS_KEY_ID -e AWS_SECRET_ACCESS_KEY \
#     rollcall run /pipelines/staff-sso.kdl --format json

FROM rust:1.95-slim-bookworm AS build
# aws-lc (the S3 client's TLS crypto) builds with cmake and a C compiler.
RUN apt-get update \
 && apt-get install -y --no-install-recommends cmake clang pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin rollcall \
 && strip target/release/rollcall

FROM debian:bookworm-slim AS runtime
# CA roots for S3 and SMTP over TLS; nothing else.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/rollcall --create-home rollcall
COPY --from=build /src/target/release/rollcall /usr/local/bin/rollcall
COPY --from=build /src/schemas /usr/share/rollcall/schemas
USER 10001:10001
WORKDIR /var/lib/rollcall
# The state store lives here unless --state or ROLLCALL_STATE says otherwise.
ENV ROLLCALL_STATE=/var/lib/rollcall/rollcall.db
VOLUME ["/var/lib/rollcall"]
ENTRYPOINT ["rollcall"]
CMD ["--help"]
