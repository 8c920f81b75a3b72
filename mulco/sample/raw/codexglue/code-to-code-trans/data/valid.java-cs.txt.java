public String toString() {return "Node(" + id + ")";}
public void clear() {items.clear();size = 0;}
public int indexOf(Object o) {return items.indexOf(o);}
