public long length() {return end - start;}
public void close() throws IOException {stream.close();}
public Map<String, Integer> getCounts() {return counts;}
