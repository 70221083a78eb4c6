// What the language hosts of ours (pulumi-language-nodejs,
// pulumi-language-python) share: each requires this module through a replace
// line (../langhost). It is in their build group, on the same sdk/v3 as they are.
module fluxcapsule.local/langhost

go 1.26.4

require (
	github.com/pulumi/pulumi/sdk/v3 v3.248.0
	google.golang.org/grpc v1.81.1
	google.golang.org/protobuf v1.36.11
)

require (
	golang.org/x/net v0.56.0 // indirect
	golang.org/x/sys v0.46.0 // indirect
	golang.org/x/text v0.38.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260622175928-b703f567277d // indirect
)
