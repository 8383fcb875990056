"""The repositories fiptgen needs, declared once for its own WORKSPACE and for yours.

A workspace that depends on fiptgen (README "Using fiptgen from another Bazel workspace"):

    local_repository(name = "fiptgen", path = "/path/to/fiptgen")
    load("@fiptgen//:repositories.bzl", "fiptgen_dependencies")
    fiptgen_dependencies()

It declares, unless the workspace already declares a repository of that name:
  - rules_cc, rules_java, remote_coverage_tools: offline stand-ins (third_party/) for what
    Bazel 4.2.3 would download even for a pure C++ build (its built-in WORKSPACE suffix names
    them). Debian's packaged rules are too new for 4.2.3; these forward to the native rules
    and stub the coverage tools, which we never use.
  - system_libs: Debian 12's libraries (tools/setup installs them) as targets that carry the
    link flags (third_party/system_libs.BUILD). Headers live in /usr/include, which the
    auto-configured toolchain already searches. A workspace that keeps its own system_libs
    must give the same targets: absl, rapidjson (and gtest, gtest_main, benchmark
    for fiptgen's own tests and benchmarks).
"""

def _fiptgen_third_party_impl(repository_ctx):
    # local_repository(path = "third_party/...") would be relative to the main workspace,
    # which is fiptgen only when fiptgen is the main workspace. A label of this file's own
    # repository resolves wherever fiptgen is, whatever the outer workspace calls it.
    third_party = repository_ctx.path(Label("//third_party:BUILD.bazel")).dirname
    source = third_party.get_child(repository_ctx.attr.directory)
    for entry in source.readdir():
        repository_ctx.symlink(entry, entry.basename)

# A repository made of fiptgen's third_party/<directory>, which holds its WORKSPACE file.
_fiptgen_third_party = repository_rule(
    implementation = _fiptgen_third_party_impl,
    attrs = {"directory": attr.string(mandatory = True)},
    local = True,
)

def fiptgen_dependencies():
    """Declares every repository fiptgen needs that the workspace does not declare yet."""
    for name in ["rules_cc", "rules_java", "remote_coverage_tools"]:
        if not native.existing_rule(name):
            _fiptgen_third_party(name = name, directory = name)
    if not native.existing_rule("system_libs"):
        native.new_local_repository(
            name = "system_libs",
            # A string, as new_local_repository takes; "@fiptgen//..." when fiptgen is not the
            # main workspace.
            build_file = str(Label("//third_party:system_libs.BUILD")),
            path = "/usr/include",
        )
