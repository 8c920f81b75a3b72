public override string ToString(){return "Node(" + id + ")";}
public virtual void Clear(){items.Clear();size = 0;}
public virtual int IndexOf(object o){return items.IndexOf(o);}
