"""Checks that a Python CDKTF app uses only names its jsii-generated bindings define.

Usage: python3 check_python_names.py APP.py SRC_ROOT [SRC_ROOT...]

SRC_ROOT folders hold the generated packages (jsii-pacmak --code-only -t python writes them to
<out>/python/src). Both files are read with `ast`, nothing is imported or run. For every name
the app imports from a generated module it checks, against the generated code:

- the class (or function) exists in that module;
- a call `Cls(...)` passes no more positional arguments than `__init__` takes and only keyword
  arguments `__init__` declares; the same for `Cls.method(...)` and `obj.method(...)`;
- `Cls.NAME` is an enum member, class attribute, property or method of the class;
- `obj.attr`, where `obj` was assigned from `Cls(...)` or `Cls.factory(...)` (or is the result
  of such a call, e.g. `Aspects.of(app).add(...)`), is a member of the returned class;
- `super().__init__(...)` in a class deriving from a generated class fits that base.

Prints a JSON object {"checked": [...], "errors": [...]} and exits 1 when there are errors.
"""
import ast
import json
import os
import sys


class Module:
    def __init__(self, name, tree):
        self.name = name
        self.classes = {}
        self.functions = {}
        self.aliases = {}  # local alias -> module name (import x.y as _alias)
        self.imported = {}  # local name -> (module, name)
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                self.classes[node.name] = node
            elif isinstance(node, ast.FunctionDef):
                self.functions[node.name] = node
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    self.aliases[alias.asname or alias.name] = alias.name
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    self.imported[alias.asname or alias.name] = (node.module, alias.name)


class Bindings:
    def __init__(self, roots):
        self.roots = roots
        self.modules = {}

    def module(self, name):
        if name not in self.modules:
            self.modules[name] = None
            for root in self.roots:
                base = os.path.join(root, *name.split("."))
                for candidate in (os.path.join(base, "__init__.py"), base + ".py"):
                    if os.path.isfile(candidate):
                        with open(candidate, encoding="utf-8") as f:
                            self.modules[name] = Module(name, ast.parse(f.read(), candidate))
                        break
                if self.modules[name] is not None:
                    break
        return self.modules[name]

    def resolve_class(self, module, expr):
        """The (module, ClassDef) an expression in `module` names: X, "X", _alias.X."""
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            try:
                expr = ast.parse(expr.value, mode="eval").body
            except SyntaxError:
                return None
        if isinstance(expr, ast.Name):
            if expr.id in module.classes:
                return module, module.classes[expr.id]
            if expr.id in module.imported:
                mod_name, name = module.imported[expr.id]
                other = self.module(mod_name)
                if other is not None and name in other.classes:
                    return other, other.classes[name]
            return None
        if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name) and expr.value.id in module.aliases:
            other = self.module(module.aliases[expr.value.id])
            if other is not None and expr.attr in other.classes:
                return other, other.classes[expr.attr]
        return None

    def member(self, module, cls, name, seen=None):
        """The (module, node) of member `name` of `cls` or of one of its bases."""
        seen = seen or set()
        if (module.name, cls.name) in seen:
            return None
        seen.add((module.name, cls.name))
        for node in cls.body:
            if isinstance(node, ast.FunctionDef) and node.name == name:
                return module, node
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
                return module, node
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == name:
                return module, node
        for base in cls.bases:
            found = self.resolve_class(module, base)
            if found is not None:
                hit = self.member(found[0], found[1], name, seen)
                if hit is not None:
                    return hit
        return None


def params(func):
    args = func.args
    positional = [a.arg for a in args.posonlyargs + args.args]
    decorators = {d.id if isinstance(d, ast.Name) else getattr(d, "attr", None) for d in func.decorator_list}
    if positional and positional[0] in ("self", "cls"):
        positional = positional[1:]
    keywords = set(positional) | {a.arg for a in args.kwonlyargs}
    return positional, keywords, args.vararg is not None, args.kwarg is not None, decorators


def main(app_file, roots):
    bindings = Bindings(roots)
    with open(app_file, encoding="utf-8") as f:
        app = ast.parse(f.read(), app_file)
    checked, errors = [], []

    imported = {}  # local name -> (Module, ClassDef | FunctionDef)
    for node in ast.walk(app):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            module = bindings.module(node.module)
            if module is None:
                errors.append(f"line {node.lineno}: no generated module {node.module}")
                continue
            for alias in node.names:
                target = module.classes.get(alias.name) or module.functions.get(alias.name)
                if target is None:
                    errors.append(f"line {node.lineno}: {node.module} has no {alias.name}")
                else:
                    imported[alias.asname or alias.name] = (module, target)
                    checked.append(f"{node.module}.{alias.name}")

    variables = {}  # variable name -> (Module, ClassDef) of the value assigned to it

    def check_call(where, func, call, what):
        positional, keywords, varargs, varkw, _ = params(func)
        if len(call.args) > len(positional) and not varargs:
            errors.append(f"line {call.lineno}: {what} takes {len(positional)} positional arguments, {len(call.args)} given")
        else:
            checked.append(f"{what}({len(call.args)} positional)")
        for kw in call.keywords:
            if kw.arg is None:
                continue
            if kw.arg in keywords or varkw:
                checked.append(f"{what}({kw.arg}=)")
            else:
                errors.append(f"line {call.lineno}: {what} has no keyword argument {kw.arg!r} (it takes {sorted(keywords)})")

    def returned_class(module, func):
        if func.returns is None:
            return None
        return bindings.resolve_class(module, func.returns)

    def type_of(expr):
        """The (Module, ClassDef) an expression evaluates to, when it can be told."""
        if isinstance(expr, ast.Name):
            if expr.id in variables:
                return variables[expr.id]
            return None
        if isinstance(expr, ast.Call):
            func = expr.func
            if isinstance(func, ast.Name) and func.id in imported:
                module, node = imported[func.id]
                return (module, node) if isinstance(node, ast.ClassDef) else returned_class(module, node)
            if isinstance(func, ast.Attribute):
                owner = class_ref(func.value) or type_of(func.value)
                if owner is not None:
                    hit = bindings.member(owner[0], owner[1], func.attr)
                    if hit is not None and isinstance(hit[1], ast.FunctionDef):
                        return returned_class(hit[0], hit[1])
        return None

    def class_ref(expr):
        if isinstance(expr, ast.Name) and expr.id in imported and isinstance(imported[expr.id][1], ast.ClassDef):
            return imported[expr.id]
        return None

    for node in ast.walk(app):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            found = type_of(node.value)
            if found is not None:
                variables[node.targets[0].id] = found

    for node in ast.walk(app):
        if isinstance(node, ast.ClassDef):
            bases = [class_ref(b) for b in node.bases]
            for stmt in ast.walk(node):
                if (
                    isinstance(stmt, ast.Call)
                    and isinstance(stmt.func, ast.Attribute)
                    and stmt.func.attr == "__init__"
                    and isinstance(stmt.func.value, ast.Call)
                    and isinstance(stmt.func.value.func, ast.Name)
                    and stmt.func.value.func.id == "super"
                ):
                    for base in bases:
                        if base is not None:
                            hit = bindings.member(base[0], base[1], "__init__")
                            if hit is not None:
                                check_call(node, hit[1], stmt, f"{base[1].name}.__init__")
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in imported:
                module, target = imported[func.id]
                if isinstance(target, ast.ClassDef):
                    init = bindings.member(module, target, "__init__")
                    if init is None:
                        errors.append(f"line {node.lineno}: {func.id} has no constructor")
                    else:
                        check_call(node, init[1], node, func.id)
                else:
                    check_call(node, target, node, func.id)
            elif isinstance(func, ast.Attribute):
                owner = class_ref(func.value)
                static = owner is not None
                owner = owner or type_of(func.value)
                if owner is None:
                    continue
                hit = bindings.member(owner[0], owner[1], func.attr)
                what = f"{owner[1].name}.{func.attr}"
                if hit is None or not isinstance(hit[1], ast.FunctionDef):
                    errors.append(f"line {node.lineno}: {owner[1].name} has no method {func.attr}")
                    continue
                decorators = params(hit[1])[4]
                if static and not decorators & {"classmethod", "staticmethod"}:
                    errors.append(f"line {node.lineno}: {what} is not a class or static method")
                checked.append(what)
                check_call(node, hit[1], node, what)
        elif isinstance(node, ast.Attribute):
            owner = class_ref(node.value) or (type_of(node.value) if isinstance(node.value, ast.Name) else None)
            if owner is None:
                continue
            if bindings.member(owner[0], owner[1], node.attr) is None:
                errors.append(f"line {node.lineno}: {owner[1].name} has no member {node.attr}")
            else:
                checked.append(f"{owner[1].name}.{node.attr}")

    print(json.dumps({"checked": sorted(set(checked)), "errors": errors}, indent=1))
    return 1 if errors else 0


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2:]))
