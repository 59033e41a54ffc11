# Production image: api, worker and migrate, without the embedded dev stack (tag nodev).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
COPY third_party/gonja/go.mod third_party/gonja/go.mod
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -tags nodev -trimpath -ldflags="-s -w" -o /out/orderintake ./cmd/orderintake

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/orderintake /usr/local/bin/orderintake
USER nonroot
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/orderintake"]
CMD ["api"]
