// Package shim exposes the upstream Terraform TLS provider. Its package is
// internal to the upstream module, and only a package under the upstream
// module's path may import it: hence this module's path.
package shim

import (
	"github.com/hashicorp/terraform-plugin-framework/provider"
	upstream "github.com/hashicorp/terraform-provider-tls/internal/provider"
)

// NewProvider returns the upstream Terraform TLS provider.
func NewProvider() provider.Provider { return upstream.New() }
