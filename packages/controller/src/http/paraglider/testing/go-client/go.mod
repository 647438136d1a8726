module skyway.test/go-client

go 1.19
