"""Sphinx configuration of the sharedvirt.kvm site (tools/docs.sh copies it next to the generated pages)."""

project = "sharedvirt.kvm"
copyright = "sharedvirt.kvm contributors"  # noqa: A001 - Sphinx reads this name
title = "sharedvirt.kvm"
html_short_title = "sharedvirt.kvm"
html_title = "sharedvirt.kvm - KVM clusters on shared storage, with Ansible"

# sphinx_antsibull_ext renders antsibull-docs' plugin pages; MyST reads the guides, which are Markdown.
extensions = ["sphinx_antsibull_ext", "myst_parser"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
myst_heading_anchors = 3
# The guides also link to files of the repository that are not pages of the site (roles/, bench/, tools/).
suppress_warnings = ["myst.xref_missing"]

pygments_style = "ansible"
highlight_language = "YAML+Jinja"
html_theme = "sphinx_ansible_theme"
html_show_sphinx = False
html_use_smartypants = True
html_use_modindex = False
html_use_index = False
html_copy_source = False
default_role = "any"
nitpicky = True
html_theme_options = {
    "topbar_links": {
        "Source": "https://github.com/sharedvirt/sharedvirt.kvm",
        "Issues": "https://github.com/sharedvirt/sharedvirt.kvm/issues",
    },
    "show_rtd_ethical_ads": False,
    "show_extranav": False,
}
