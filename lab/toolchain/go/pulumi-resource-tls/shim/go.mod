// The upstream Terraform TLS provider under a path of its own module's, so
// that it may import the provider's internal package (see shim.go).
module github.com/hashicorp/terraform-provider-tls/shim

go 1.26.4

require github.com/hashicorp/terraform-provider-tls v1.2.1-0.20260130152455-857b38cda3fc
